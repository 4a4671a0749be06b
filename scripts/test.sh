#!/usr/bin/env bash
# The project's test command: `./scripts/test.sh`.
#
# On a fresh machine it does all the set-up. It checks the tools (as root with apt-get, it installs
# a missing dovecot-imapd and pgbouncer: the work-inbox tests start private Dovecot IMAP servers,
# the pooler tests private PgBouncers), uses the
# Redis and Postgres that already answer on their standard ports (or at ALFRED_TEST_REDIS_URL /
# ALFRED_TEST_DATABASE_URL), and otherwise starts private ones in a temporary directory. It exports
# ALFRED_TEST_REDIS_URL and ALFRED_TEST_DATABASE_URL, then runs, failing fast:
#   cargo fmt --check, cargo clippy -D warnings (the fuzz targets' too, with the fuzz phase),
#   no import circle between source files
#   (scripts/import-cycles.py), cargo doc -D warnings, the per-instance builds
#   (cargo tree: no Home skill crate in the Biz build and the reverse; cargo check of each), the
#   workspace tests, the fuzz targets for a short bounded time each (scripts/fuzz.sh; installs
#   cargo-fuzz when missing), the admin page in a real browser (tests/e2e/browser.rs: playwright-core from
#   npm driving Debian's chromium, installed here as root when missing), and as root the
#   container image built with buildah and started (scripts/image-test.sh).
# Whatever it started is stopped on exit, and leftover alfred_test_% databases are dropped.
#
# Usage:
#   ./scripts/test.sh                      fmt, clippy and all tests
#   ./scripts/test.sh -- CMD [ARGS...]     services only: start them, run CMD with the URLs exported
#   ./scripts/test.sh --services-only      the same, starting an interactive shell ($SHELL)
#
# Environment:
#   ALFRED_TEST_REDIS_URL      shared test Redis     (default redis://127.0.0.1:6379)
#   ALFRED_TEST_DATABASE_URL   shared test Postgres, a superuser URL with trust or password auth
#                              (default postgres://postgres@127.0.0.1:5432/postgres)
#   ALFRED_TEST_PRIVATE=1      ignore running servers and start private ones (tests this script)
#   ALFRED_TEST_SERVICES_ONLY=1  same as `--`: start the services and run the given command
#   ALFRED_TEST_THREADS        test threads (default: the number of cores, at least 2)
#   ALFRED_TEST_KEEP_DBS=1     do not drop leftover alfred_test_% databases
#   ALFRED_TEST_IMAGE=0        skip building and starting the container image (scripts/image-test.sh)
#   ALFRED_TEST_BROWSER=0      skip the admin page's browser test (Chromium, node and npm)
#   ALFRED_TEST_CHAOS=0        skip the chaos suite's short form
#   ALFRED_E2E_LOG_DIR         a directory: the e2e tests' alfred processes write their output
#                              there, one file per port (default: discarded)
#   ALFRED_TEST_FUZZ=0         skip the fuzz targets (scripts/fuzz.sh)
#   ALFRED_TEST_FUZZ_SECONDS   how long each fuzz target runs (default 20)
#   ALFRED_FUZZ_SEED           the fuzz targets' seed (default 20261202: fixed, see scripts/fuzz.sh)
#
# Works as root (the private Postgres then runs as an unprivileged user, since initdb and
# postgres refuse to run as root), in CI (CI=true) and without a terminal on stdin.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- arguments -----------------------------------------------------------------------------------
services_only=${ALFRED_TEST_SERVICES_ONLY:-0}
command=()
while (($#)); do
    case $1 in
        --) shift; services_only=1; command=("$@"); break ;;
        --services-only) services_only=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
if [[ $services_only == 1 && ${#command[@]} -eq 0 ]]; then
    command=("${SHELL:-bash}")
fi

# --- tools ---------------------------------------------------------------------------------------
# CI runs with a minimal environment: rustup's default location may be missing from PATH.
if ! command -v cargo >/dev/null && [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# Debian keeps the Postgres server tools out of PATH, under /usr/lib/postgresql/<version>/bin.
pg_tool() {
    local name=$1 dir
    if command -v "$name" >/dev/null; then command -v "$name"; return 0; fi
    for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        if [[ -x $dir/$name ]]; then echo "$dir/$name"; return 0; fi
    done
    return 1
}

missing_apt=()
missing_other=()
need_apt() { missing_apt+=("$1"); }

if [[ $services_only != 1 ]]; then
    if ! command -v cargo >/dev/null; then
        missing_other+=("cargo: install Rust with rustup (curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh)")
    else
        cargo fmt --version >/dev/null 2>&1 || missing_other+=("rustfmt: rustup component add rustfmt")
        cargo clippy --version >/dev/null 2>&1 || missing_other+=("clippy: rustup component add clippy")
    fi
fi
# Tests start private redis-servers of their own (outage tests), so it is needed in every case;
# the Redis Cluster tests join three of them with redis-cli (package redis-tools).
command -v redis-server >/dev/null || need_apt redis-server
command -v redis-cli >/dev/null || need_apt redis-tools
# The import-circle check is a Python script.
if [[ $services_only != 1 ]]; then command -v python3 >/dev/null || need_apt python3; fi
PSQL=$(pg_tool psql) || need_apt postgresql-client

# The work-inbox tests start private Dovecot IMAP servers of their own (testkit looks in PATH and
# /usr/sbin, where Debian puts it), so it is needed in every case too. As root with apt-get (CI, a
# fresh container) it is installed here; a system dovecot service the package may start is not
# ours and is left alone. Otherwise the package is named below and the script stops.
dovecot_found() { command -v dovecot >/dev/null || [[ -x /usr/sbin/dovecot ]]; }
install_dovecot() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dovecot-imapd \
        </dev/null >&2
}
if ! dovecot_found; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing dovecot-imapd (the work-inbox tests start private Dovecot IMAP servers)"
        if ! install_dovecot; then
            log "apt-get install failed; running apt-get update and trying again"
            if apt-get update -q </dev/null >&2; then install_dovecot || true; fi
        fi
    fi
    dovecot_found || need_apt dovecot-imapd
fi

# The pooler tests start private PgBouncers in transaction mode (testkit looks in PATH and
# /usr/sbin, where Debian puts it). Installed like dovecot-imapd as root with apt-get; a system
# pgbouncer service the package may start is not ours and is left alone.
pgbouncer_found() { command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]]; }
install_pgbouncer() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pgbouncer \
        </dev/null >&2
}
if ! pgbouncer_found; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing pgbouncer (the pooler tests start private PgBouncers)"
        if ! install_pgbouncer; then
            log "apt-get install failed; running apt-get update and trying again"
            if apt-get update -q </dev/null >&2; then install_pgbouncer || true; fi
        fi
    fi
    pgbouncer_found || need_apt pgbouncer
fi

# The admin page's browser test drives Debian's Chromium with playwright-core from npm (never a
# browser playwright downloads). As root with apt-get, chromium is installed here like
# dovecot-imapd; otherwise a missing one is named and the script stops (or skip the test with
# ALFRED_TEST_BROWSER=0).
browser_test=${ALFRED_TEST_BROWSER:-1}
if [[ $services_only != 1 && $browser_test != 0 ]]; then
    chromium_found() { [[ -x /usr/bin/chromium ]]; }
    install_chromium() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            chromium chromium-driver </dev/null >&2
    }
    if ! chromium_found; then
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            log "installing chromium (the admin page's browser test drives it)"
            if ! install_chromium; then
                log "apt-get install failed; running apt-get update and trying again"
                if apt-get update -q </dev/null >&2; then install_chromium || true; fi
            fi
        fi
        chromium_found || missing_other+=("chromium for the admin page's browser test: apt-get install chromium chromium-driver (as root), or skip it with ALFRED_TEST_BROWSER=0")
    fi
    command -v node >/dev/null && command -v npm >/dev/null \
        || missing_other+=("node and npm for the admin page's browser test: apt-get install nodejs npm, or skip it with ALFRED_TEST_BROWSER=0")
fi

# --- temporary directory and clean-up ------------------------------------------------------------
# Root's TMPDIR may not be reachable by the unprivileged Postgres user; /tmp always is.
if [[ $(id -u) == 0 ]]; then
    work=$(mktemp -d /tmp/alfred-test.XXXXXX)
    chmod 0755 "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/alfred-test.XXXXXX")
fi

redis_pid=
child_pid=
pg_data=
pg_user=
database_url=

as_pg_user() {
    if [[ -n $pg_user ]]; then
        (cd "$work" && runuser -u "$pg_user" -- "$@")
    else
        "$@"
    fi
}

drop_leftover_databases() {
    [[ ${ALFRED_TEST_KEEP_DBS:-0} == 1 || -z ${PSQL:-} || -z $database_url || -n $pg_data ]] && return 0
    # Only databases nobody is connected to and created over a minute ago: another test run on
    # this shared server may be using the newest ones. Those left now are dropped by a later run.
    local names name
    names=$(PGCONNECT_TIMEOUT=5 "$PSQL" "$database_url" -w -Atq </dev/null -c "
        SELECT d.datname FROM pg_database d
        WHERE d.datname LIKE 'alfred\_test\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)
          AND (pg_stat_file('base/' || d.oid || '/PG_VERSION')).modification
              < now() - interval '60 seconds'" 2>/dev/null) || return 0
    for name in $names; do
        "$PSQL" "$database_url" -w -Atq </dev/null -c "DROP DATABASE IF EXISTS \"$name\"" \
            >/dev/null 2>&1 || true
    done
    [[ -z $names ]] || log "dropped $(wc -l <<<"$names") leftover test databases"
}

# Runs a command in its own process group and waits for it. Bash runs a signal trap only after a
# foreground child ends; `wait` is interrupted at once, so INT/TERM clean up promptly, and the
# group kill in `cleanup` reaches the command's own children (cargo's test binaries, say).
run() {
    setsid "$@" <&0 &
    child_pid=$!
    local status=0
    wait "$child_pid" || status=$?
    child_pid=
    return "$status"
}

cleanup() {
    local status=$?
    set +e
    if [[ -n $child_pid ]]; then
        kill -TERM -- "-$child_pid" 2>/dev/null
        wait_gone "$child_pid"
    fi
    drop_leftover_databases
    if [[ -n $redis_pid ]]; then
        kill "$redis_pid" 2>/dev/null
        wait_gone "$redis_pid"
    fi
    if [[ -n $pg_data && -f $pg_data/postmaster.pid ]]; then
        as_pg_user "$PG_CTL" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 \
            || kill -QUIT "$(head -n1 "$pg_data/postmaster.pid")" 2>/dev/null
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_gone() {
    local pid=$1
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
}

free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 40000))
        # A refused connection means nobody listens there.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "found no free TCP port"
}

# --- Redis ---------------------------------------------------------------------------------------
redis_answers() {
    local url=$1 rest hostport host port reply
    if command -v redis-cli >/dev/null; then
        reply=$(timeout 5 redis-cli -u "$url" ping </dev/null 2>/dev/null) || return 1
        [[ $reply == PONG ]]
        return
    fi
    rest=${url#*://}; rest=${rest##*@}; hostport=${rest%%/*}
    host=${hostport%:*}; port=${hostport##*:}
    [[ $host == "$hostport" ]] && port=6379
    # shellcheck disable=SC2016 # $0 and $1 expand in the inner shell.
    reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && head -c 5 <&3' \
        "$host" "$port" 2>/dev/null) || return 1
    [[ $reply == +PONG ]]
}

start_private_redis() {
    local dir=$work/redis port
    mkdir -p "$dir"
    for _ in 1 2 3; do
        port=$(free_port)
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$dir" --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
        redis_pid=$!
        for _ in $(seq 200); do
            if redis_answers "redis://127.0.0.1:$port"; then
                redis_url="redis://127.0.0.1:$port"
                log "started a private redis-server on port $port"
                return 0
            fi
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.05
        done
        kill "$redis_pid" 2>/dev/null; wait_gone "$redis_pid"; redis_pid=
    done
    tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
    die "could not start a private redis-server"
}

# --- Postgres ------------------------------------------------------------------------------------
pg_answers() {
    local reply
    reply=$(PGCONNECT_TIMEOUT=3 timeout 10 "$PSQL" "$1" -w -Atqc 'SELECT 1' </dev/null 2>/dev/null) \
        || return 1
    [[ $reply == 1 ]]
}

# initdb and postgres refuse to run as root: pick an unprivileged user to own the cluster.
choose_pg_user() {
    [[ $(id -u) == 0 ]] || return 0
    local candidate
    for candidate in postgres nobody; do
        if id -u "$candidate" >/dev/null 2>&1; then pg_user=$candidate; return 0; fi
    done
    useradd --system --no-create-home --shell /usr/sbin/nologin alfred-test-pg \
        || die "running as root, and found no unprivileged user to run Postgres as"
    pg_user=alfred-test-pg
}

start_private_postgres() {
    local dir=$work/postgres port
    choose_pg_user
    mkdir -p "$dir/sock"
    [[ -z $pg_user ]] || chown -R "$pg_user" "$dir"
    pg_data=$dir/data
    log "creating a private Postgres cluster in $pg_data${pg_user:+ (as user $pg_user)}"
    as_pg_user "$INITDB" -D "$pg_data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    for _ in 1 2 3; do
        port=$(free_port)
        # Durability is pointless for a throw-away test cluster; speed is not.
        if as_pg_user "$PG_CTL" -D "$pg_data" -l "$dir/postgres.log" -w -t 60 start -o \
            "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            </dev/null >/dev/null 2>&1; then
            database_url="postgres://postgres@127.0.0.1:$port/postgres"
            pg_answers "$database_url" || die "the private Postgres started but does not answer"
            log "started a private Postgres on port $port"
            return 0
        fi
    done
    tail -n 20 "$dir/postgres.log" >&2 2>/dev/null || true
    die "could not start a private Postgres"
}

# --- bring the services up -----------------------------------------------------------------------
private=${ALFRED_TEST_PRIVATE:-0}
redis_url=${ALFRED_TEST_REDIS_URL:-redis://127.0.0.1:6379}
database_url=${ALFRED_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

need_private_redis=1
need_private_pg=1
if [[ $private != 1 ]]; then
    if command -v redis-server >/dev/null || command -v redis-cli >/dev/null; then
        redis_answers "$redis_url" && need_private_redis=0
    fi
    [[ -n ${PSQL:-} ]] && pg_answers "$database_url" && need_private_pg=0
fi
if ((need_private_pg)); then
    INITDB=$(pg_tool initdb) || need_apt postgresql
    PG_CTL=$(pg_tool pg_ctl) || need_apt postgresql
else
    PG_CTL=
fi

if ((${#missing_apt[@]} + ${#missing_other[@]})); then
    printf 'error: missing tools needed to run the tests:\n' >&2
    if ((${#missing_apt[@]})); then
        # postgresql brings the client too; name each package once.
        printf '  apt-get install %s\n' \
            "$(printf '%s\n' "${missing_apt[@]}" | sed 's/^postgresql-client$/postgresql/' \
                | sort -u | tr '\n' ' ' | sed 's/ $//')" >&2
    fi
    for line in "${missing_other[@]}"; do printf '  %s\n' "$line" >&2; done
    exit 1
fi

if ((need_private_redis)); then
    [[ $private == 1 ]] || log "no Redis answers at $redis_url"
    start_private_redis
else
    log "using the running Redis at $redis_url"
fi
if ((need_private_pg)); then
    [[ $private == 1 ]] || log "no Postgres answers at the test database URL"
    start_private_postgres
else
    log "using the running Postgres at ${database_url%%\?*}"
fi
export ALFRED_TEST_REDIS_URL=$redis_url
export ALFRED_TEST_DATABASE_URL=$database_url

# --- run -----------------------------------------------------------------------------------------
if [[ $services_only == 1 ]]; then
    log "running: ${command[*]}"
    status=0
    if [[ -t 0 ]]; then
        # Interactive: keep the terminal (a background job would lose stdin).
        "${command[@]}" || status=$?
    else
        run "${command[@]}" || status=$?
    fi
    exit "$status"
fi

cores=$(nproc 2>/dev/null || echo 2)
threads=${ALFRED_TEST_THREADS:-$((cores < 2 ? 2 : cores))}

log "cargo fmt --all -- --check"
run cargo fmt --all -- --check
# The fuzz targets are a crate of their own, outside the workspace (fuzz/Cargo.toml).
log "cargo fmt --manifest-path fuzz/Cargo.toml -- --check (the fuzz targets)"
run cargo fmt --manifest-path fuzz/Cargo.toml -- --check

log "cargo clippy --workspace --all-targets -- -D warnings"
run cargo clippy --workspace --all-targets -- -D warnings

# No import circle between the source files of a crate, but the two the design keeps: the
# supervision layer's parts, and the skill contract with the LLM's tool calls it declares.
log "scripts/import-cycles.py (no import circle between source files)"
run python3 scripts/import-cycles.py \
    --allow 'actors/src/supervision/*' --allow 'actors/src/llm.rs|actors/src/skill.rs'

# The deployment files under docker/ (Prometheus rules and their unit tests, the compose file,
# Grafana's dashboard); the script installs promtool and check-jsonschema when missing.
log "scripts/check-deploy.sh (Prometheus config, alert rules and their tests, compose, Grafana)"
run bash scripts/check-deploy.sh

# Documentation builds without warnings (no broken or private intra-doc links).
log "cargo doc --workspace --no-deps (RUSTDOCFLAGS=-D warnings)"
RUSTDOCFLAGS="-D warnings" run cargo doc --workspace --no-deps --quiet

# Isolation by construction: a Biz build contains no Home skill code and the reverse, and each
# single-instance build compiles.
for pair in biz:alfred-skills-home home:alfred-skills-biz; do
    feature=${pair%%:*} foreign=${pair#*:}
    log "cargo tree/check --no-default-features --features $feature (no $foreign)"
    tree=$(cargo tree -e normal --no-default-features --features "$feature" -p alfred) \
        || die "cargo tree failed for the $feature build"
    ! grep -q "$foreign" <<<"$tree" || die "the $feature build depends on $foreign"
    run cargo check -p alfred --no-default-features --features "$feature"
done

if cargo nextest --version >/dev/null 2>&1; then
    log "cargo nextest run --workspace --test-threads $threads"
    run cargo nextest run --workspace --no-fail-fast --test-threads "$threads"
    # nextest does not run doctests.
    log "cargo test --workspace --doc"
    run cargo test --workspace --doc
else
    log "cargo test --workspace (-- --test-threads $threads)"
    run cargo test --workspace --no-fail-fast -- --test-threads "$threads"
fi
# The chaos suite, short form (the full form is scripts/chaos.sh): three replicas of the debug
# build on a private Redis (AOF) and Postgres behind fault proxies, 300 webhooks from 30
# conversations round-robin, on 8 ingest partitions with a 3 s lease, a kill -9 and a cut of every
# Redis and Postgres connection; fails on a lost or doubled message, a poison message not
# dead-lettered, anything stuck, or a conversation whose replies went out of order.
# ALFRED_TEST_CHAOS=0 skips it.
if [[ ${ALFRED_TEST_CHAOS:-1} == 0 ]]; then
    log "chaos suite skipped (ALFRED_TEST_CHAOS=0)"
else
    log "chaos suite, short form: 3 replicas, 300 messages, kill -9 and a proxy cut"
    run cargo build --quiet -p alfred -p alfred-chaos
    chaos_target=${CARGO_TARGET_DIR:-target}
    run "$chaos_target/debug/alfred-chaos" --alfred "$chaos_target/debug/alfred" \
        --replicas 3 --messages 300 --conversations 30 --rate 30 --faults kill,proxy-cut \
        --claim-idle-ms 5000 --partitions 8 --lease-ms 3000 --require-order --settle-secs 120
fi
# Every fuzz target for a short bounded time, from the checked-in corpus (scripts/fuzz.sh: what
# they find goes to a temporary directory, so the checkout stays clean; a failing input is kept
# under fuzz/artifacts/, ignored by git). The longer form: scripts/fuzz.sh all 600.
if [[ ${ALFRED_TEST_FUZZ:-1} == 0 ]]; then
    log "fuzz targets skipped (ALFRED_TEST_FUZZ=0)"
else
    fuzz_seconds=${ALFRED_TEST_FUZZ_SECONDS:-20}
    # A fixed seed: the suite checks that the code still passes what these runs have been
    # through (its result does not depend on luck); new ground is broken by scripts/fuzz.sh's
    # longer runs with fresh seeds (docs/adr/2026-12-02-fuzzing-in-the-test-script.md).
    fuzz_seed=${ALFRED_FUZZ_SEED:-20261202}
    log "cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings (the fuzz targets)"
    run cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
    log "scripts/fuzz.sh all $fuzz_seconds (each fuzz target for ${fuzz_seconds}s, seed $fuzz_seed)"
    run env ALFRED_FUZZ_SEED="$fuzz_seed" ./scripts/fuzz.sh all "$fuzz_seconds"
fi
# The admin page in a real browser: an ignored test of the e2e suite, run here once its npm
# packages are installed (npm ci: exactly the lock file's versions).
if [[ $browser_test == 0 ]]; then
    log "browser test skipped (ALFRED_TEST_BROWSER=0)"
else
    log "tests/browser: npm ci"
    run npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
    log "browser test: the admin page in Chromium (tests/e2e/browser.rs)"
    if cargo nextest --version >/dev/null 2>&1; then
        run cargo nextest run -p alfred --test e2e --run-ignored only --no-fail-fast browser::
    else
        run cargo test -p alfred --test e2e -- --ignored browser::
    fi
fi
# The container image: built from docker/Dockerfile with buildah and started (needs root).
if [[ ${ALFRED_TEST_IMAGE:-1} == 0 ]]; then
    log "image test skipped (ALFRED_TEST_IMAGE=0)"
elif [[ $(id -u) != 0 ]]; then
    log "image test skipped: it needs root (buildah, mmdebstrap); run scripts/image-test.sh as root"
else
    log "scripts/image-test.sh (build the image with buildah, start it, check it)"
    run ./scripts/image-test.sh
fi
log "all checks passed"
