#!/usr/bin/env bash
# The benchmark: `./scripts/bench.sh [PHASE...]`, phases ingest, ingest-full, e2e (default: all).
#
# Builds `alfred` and `alfred-bench` with --release, brings up Redis and Postgres exactly as
# ./scripts/test.sh does (the running ones on their standard ports, else private ones), and for
# each phase starts a fresh `target/release/alfred serve` (INSTANCE=home, WhatsApp configured,
# GRAPH_API_URL at the bench's fake Graph API, its own database and Redis key prefix), runs the
# load, prints the results and stops everything it started.
#
# Phases:
#   ingest       webhook ingest only: the ingest readers are stopped through the admin API
#                before the run (an edge-only replica), as in the FastAPI + redis-py reference,
#                which only XADDs.
#   ingest-full  the same load with the whole pipeline consuming behind the webhook.
#   e2e          webhook → orchestrator → Postgres → outbox → sender → fake Graph API, each
#                message answered exactly once; at BENCH_RATE messages/s when set.
#
# Replicas (BENCH_REPLICAS > 1, ingest-full and e2e): N Alfreds on the same database and the
# same Redis key prefix, replica i (from 0) on HTTP port BENCH_HTTP_PORT + 2i and admin port
# BENCH_ADMIN_PORT + 2i, HOSTNAME bench-<pid>-r<i> (its stream consumers' names), all with
# INGEST_PARTITIONS=BENCH_PARTITIONS. The load starts once every replica is ready and the
# partition leases are split evenly over the live replicas (printed) — the steady state, not a
# rebalance. alfred-bench spreads its connections round-robin over the replicas, so any replica
# receives webhooks of any conversation, as behind a balancer; the fake Graph API counts the
# replies of all of them (the exactly-once check holds across replicas). The ingest phase stays single-replica (it stops
# the ingest readers through one replica's admin API): BENCH_REPLICAS is ignored there, and said.
#
# Environment (defaults in brackets):
#   BENCH_CONNECTIONS [64]  BENCH_SECONDS [10]  BENCH_WARMUP [2]
#   BENCH_SENDERS [5000]  distinct senders: 50,000 messages over 5,000 senders stay within the
#                      default per-sender burst (15), so e2e measures throughput, not refusals
#                      (before issue 10's limits, rounds one to five used 1,000)
#   BENCH_MESSAGES [50000]  BENCH_RATE [0: as fast as accepted]   BENCH_E2E_CONNECTIONS [64]
#   BENCH_GRAPH_PORT [18080]  BENCH_HTTP_PORT [18000]  BENCH_ADMIN_PORT [18001]
#   BENCH_REPLICAS [1] Alfred processes for ingest-full and e2e (see Replicas above)
#   BENCH_PARTITIONS   INGEST_PARTITIONS of every replica [4 with BENCH_REPLICAS > 1; unset
#                      with one replica: the product default, 8]
#   BENCH_READERS [1]  Alfred's INGEST_READERS (the product default; one reader keeps several
#                      batches in flight; more readers break per-conversation order)
#   BENCH_ENV          extra VAR=value settings for Alfred, space-separated (e.g. INGEST_BATCH=200)
#   BENCH_PG_SOCKET    a directory: Alfred reaches Postgres through the Unix socket in it
#                      (e.g. /var/run/postgresql) instead of TCP
#   BENCH_TLS [0]      1: Alfred reaches Redis over TLS (`rediss://`, a private TLS-only
#                      redis-server with a CA made here, REDIS_CA_FILE) and Postgres with
#                      `sslmode=require` (the test Postgres must have ssl=on); 0: plain TCP to both
#                      (`sslmode=disable`, as every figure before TLS support)
#   BENCH_SKIP_BUILD=1 use the binaries already in target/release (CARGO_TARGET_DIR honoured)
#   BENCH_KEEP_LOGS=1  keep Alfred's log (path printed)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

phases=${*:-all}
[[ $phases == all ]] && phases="ingest ingest-full e2e"
for phase in $phases; do
    case $phase in
        ingest | ingest-full | e2e) ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown phase '$phase' (see --help)" ;;
    esac
done

# Checked before the build, used by the inner run.
replicas=${BENCH_REPLICAS:-1}
[[ $replicas =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPLICAS must be a whole number ≥ 1 (got '$replicas')"
partitions=${BENCH_PARTITIONS:-}
[[ -z $partitions && $replicas -gt 1 ]] && partitions=4
[[ -z $partitions || $partitions =~ ^[0-9]+$ ]] || die "BENCH_PARTITIONS must be a whole number"
if [[ $replicas -gt 1 && $partitions == 0 ]]; then
    die "BENCH_REPLICAS > 1 needs partitions (BENCH_PARTITIONS ≥ 1): the single stream has no leases"
fi

# --- outer: build, then run the phases with the services of scripts/test.sh ----------------------
if [[ -z ${ALFRED_BENCH_INNER:-} ]]; then
    if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
        log "cargo build --release -p alfred -p alfred-bench"
        cargo build --release -p alfred -p alfred-bench
    fi
    # Other engineers' tests may be running against the same Postgres: never drop their
    # alfred_test_% databases on exit (the bench drops only its own alfred_bench_ ones).
    ALFRED_TEST_KEEP_DBS=1 ALFRED_BENCH_INNER=1 exec ./scripts/test.sh -- "$0" "$phases"
fi

# --- inner: ALFRED_TEST_REDIS_URL and ALFRED_TEST_DATABASE_URL are set -----------------------------
redis_url=${ALFRED_TEST_REDIS_URL:?}
admin_url=${ALFRED_TEST_DATABASE_URL:?}
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n1)
connections=${BENCH_CONNECTIONS:-64}
http_port=${BENCH_HTTP_PORT:-18000}
admin_port=${BENCH_ADMIN_PORT:-18001}
graph_port=${BENCH_GRAPH_PORT:-18080}
secret=bench-app-secret
phone_id=100000000001
admin_key=bench-admin-key-0123
target_dir=${CARGO_TARGET_DIR:-$root/target}
bench=$target_dir/release/alfred-bench
alfred=$target_dir/release/alfred
work=$(mktemp -d /tmp/alfred-bench.XXXXXX)

# The running replicas: pid, HTTP port and admin port of replica i at index i.
alfred_pids=()
http_ports=()
admin_ports=()
database=
prefix=

alfred_redis_url=$redis_url
redis_cli=(redis-cli -u "$redis_url")
pg_sslmode=disable
tls_redis_pid=
if [[ ${BENCH_TLS:-0} == 1 ]]; then
    # A CA and a certificate for 127.0.0.1, and a TLS-only redis-server trusting nobody else.
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=alfred bench CA" \
        -keyout "$work/ca.key" -out "$work/ca.pem" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$work/redis.key" -out "$work/redis.csr" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$work/san.ext"
    openssl x509 -req -in "$work/redis.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
        -CAcreateserial -days 1 -extfile "$work/san.ext" -out "$work/redis.pem" >/dev/null 2>&1
    tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port 0 --tls-port "$tls_port" --bind 127.0.0.1 --save '' --appendonly no \
        --tls-cert-file "$work/redis.pem" --tls-key-file "$work/redis.key" \
        --tls-ca-cert-file "$work/ca.pem" --tls-auth-clients no \
        --dir "$work" --logfile "$work/redis-tls.log" </dev/null >/dev/null 2>&1 &
    tls_redis_pid=$!
    redis_cli=(redis-cli --tls --cacert "$work/ca.pem" -h 127.0.0.1 -p "$tls_port")
    for _ in $(seq 100); do
        [[ $("${redis_cli[@]}" ping 2>/dev/null) == PONG ]] && break
        sleep 0.05
    done
    [[ $("${redis_cli[@]}" ping 2>/dev/null) == PONG ]] || die "the TLS redis-server did not start"
    alfred_redis_url="rediss://127.0.0.1:$tls_port"
    pg_sslmode=require
    log "TLS on: Redis at $alfred_redis_url (a private TLS-only server), Postgres sslmode=require"
fi

redis() { "${redis_cli[@]}" "$@"; }

# Stops every running replica: SIGTERM to all, then waits for each (SIGKILL after 5 s).
stop_alfred() {
    local pid
    for pid in "${alfred_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${alfred_pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    alfred_pids=()
    http_ports=()
    admin_ports=()
}

drop_data() {
    if [[ -n $prefix ]]; then
        # Streams of a run hold hundreds of thousands of entries: give Redis its memory back.
        redis --scan --pattern "${prefix}*" | xargs -r -n 100 "${redis_cli[@]}" unlink \
            >/dev/null 2>&1 || true
        prefix=
    fi
    if [[ -n $database ]]; then
        "$PSQL" "$admin_url" -w -Atq -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" \
            >/dev/null 2>&1 || true
        database=
    fi
}

cleanup() {
    local status=$?
    set +e
    stop_alfred
    drop_data
    [[ -z $tls_redis_pid ]] || kill "$tls_redis_pid" 2>/dev/null
    if [[ ${BENCH_KEEP_LOGS:-0} == 1 ]]; then log "logs kept in $work"; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Creates the phase's database and key prefix, starts `count` replicas on them and waits until
# all are ready (and, with several, until the partitions are spread over them); prints each
# one's idle memory.
start_alfred() {
    local phase=$1 count=$2
    database="alfred_bench_$$_${phase//-/_}"
    prefix="bench-$$-$phase:"
    "$PSQL" "$admin_url" -w -Atq -c "CREATE DATABASE \"$database\"" >/dev/null
    database_url=${admin_url%/*}/$database?sslmode=$pg_sslmode
    if [[ -n ${BENCH_PG_SOCKET:-} ]]; then
        # Alfred talks to Postgres over its Unix socket (same credentials, no TCP stack).
        local userinfo=${admin_url#*://}
        userinfo=${userinfo%%@*}
        database_url="postgresql://$userinfo@${BENCH_PG_SOCKET//\//%2F}/$database"
    fi
    local i
    for ((i = 0; i < count; i++)); do
        http_ports[i]=$((http_port + 2 * i))
        admin_ports[i]=$((admin_port + 2 * i))
        spawn_replica "$phase" "$count" "$i"
    done
    for ((i = 0; i < count; i++)); do wait_ready "$phase" "$count" "$i"; done
    if ((count > 1)); then balance_partitions "$count"; fi
    # Resident memory at rest, once start-up's allocations have settled.
    sleep 3
    if ((count == 1)); then
        printf '  alfred idle: %s\n' "$(grep -E '^VmRSS' "/proc/${alfred_pids[0]}/status" | tr -s ' ')"
    else
        local kib total=0
        for ((i = 0; i < count; i++)); do
            kib=$(awk '/^VmRSS/ {print $2}' "/proc/${alfred_pids[i]}/status")
            total=$((total + kib))
            printf '  alfred r%d (pid %s) idle: VmRSS: %s kB\n' "$i" "${alfred_pids[i]}" "$kib"
        done
        printf '  alfred idle, %d replicas together: VmRSS: %s kB\n' "$count" "$total"
    fi
}

# The log of replica `i` of a phase run with `count` replicas.
replica_log() {
    if (($2 == 1)); then echo "$work/alfred-$1.log"; else echo "$work/alfred-$1-r$3.log"; fi
}

# Starts replica `i` (in the background) on the phase's database and key prefix.
spawn_replica() {
    local phase=$1 count=$2 i=$3
    local identity=()
    # Several replicas on one host: each names its stream consumers after its own HOSTNAME.
    ((count == 1)) || identity=(HOSTNAME="bench-$$-r$i")
    # shellcheck disable=SC2086 # BENCH_ENV is a list of VAR=value words.
    env -i PATH="$PATH" HOME="$HOME" "${identity[@]}" \
        INSTANCE=home HTTP_ADDR="127.0.0.1:${http_ports[i]}" \
        ADMIN_ADDR="127.0.0.1:${admin_ports[i]}" ADMIN_API_KEY="$admin_key" \
        REDIS_URL="$alfred_redis_url" DATABASE_URL="$database_url" REDIS_KEY_PREFIX="$prefix" \
        ${tls_redis_pid:+REDIS_CA_FILE="$work/ca.pem"} \
        ${partitions:+INGEST_PARTITIONS="$partitions"} \
        META_TOKEN=bench-token PHONE_ID="$phone_id" VERIFY_TOKEN=bench-verify \
        APP_SECRET="$secret" GRAPH_API_URL="http://127.0.0.1:$graph_port" \
        LOG_FORMAT=json RUST_LOG="${RUST_LOG:-info}" INGEST_READERS="${BENCH_READERS:-1}" \
        ${BENCH_ENV:-} \
        "$alfred" serve >>"$(replica_log "$phase" "$count" "$i")" 2>&1 &
    alfred_pids[i]=$!
}

# Waits until replica `i` answers /readyz with 200.
wait_ready() {
    local phase=$1 count=$2 i=$3
    local pid=${alfred_pids[i]}
    for _ in $(seq 200); do
        if curl -fsS -o /dev/null "http://127.0.0.1:${http_ports[i]}/readyz" 2>/dev/null; then
            if ((count == 1)); then
                log "alfred (pid $pid) is ready: database $database, key prefix $prefix"
            else
                log "alfred r$i (pid $pid, http ${http_ports[i]}, admin ${admin_ports[i]}) is ready: database $database, key prefix $prefix"
            fi
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 30 "$(replica_log "$phase" "$count" "$i")" >&2
    if ((count == 1)); then die "alfred did not become ready"; fi
    die "alfred r$i did not become ready"
}

# Reads `/admin/streams` of every replica. Prints `steady <split>` once every partition is
# held by one of the replicas and each holds floor or ceil(partitions / replicas) of them (the
# product's assignment is that even, docs/runtime-semantics.md), else `moving <split>`;
# `<split>` is `r0:0,2 r1:1,3`.
partition_state() {
    local count=$1 i
    for ((i = 0; i < count; i++)); do
        curl -fsS -H "Authorization: Bearer $admin_key" \
            "http://127.0.0.1:${admin_ports[i]}/admin/streams" 2>/dev/null || echo '{}'
        echo
    done | python3 -c '
import json, sys
views = [json.loads(line) for line in sys.stdin if line.strip()]
ids = [v.get("partition_replica") for v in views]
parts = (views[0].get("partitions") or []) if views else []
if None in ids or not parts:
    print("moving (not every replica answers yet)")
    sys.exit()
owned = {r: [] for r in ids}
for part in parts:
    owner = part.get("owner")
    if owner in owned:
        owned[owner].append(str(part["partition"]))
split = " ".join("r%d:%s" % (i, ",".join(owned[r]) or "-") for i, r in enumerate(ids))
held = sum(len(v) for v in owned.values())
floor, ceil = len(parts) // len(ids), -(-len(parts) // len(ids))
even = all(floor <= len(v) <= ceil for v in owned.values())
print(("steady " if held == len(parts) and even else "moving ") + split)
'
}

# Waits until the partitions are split evenly over the live replicas, as the product assigns
# them (leases move within about one lease TTL, 10 s, of a join or a leave).
balance_partitions() {
    local count=$1 state=moving
    command -v python3 >/dev/null || die "BENCH_REPLICAS > 1 needs python3 (to read the partition split)"
    for _ in $(seq 300); do
        state=$(partition_state "$count")
        [[ $state == steady* ]] && break
        sleep 0.1
    done
    [[ $state == steady* ]] || die "the partitions did not settle over the replicas: $state"
    log "partitions settled over $count replicas ($partitions partitions): ${state#steady }"
}

admin() {
    curl -fsS -X POST -H "Authorization: Bearer $admin_key" \
        "http://127.0.0.1:${admin_ports[0]}/admin/actors/$1/$2" >/dev/null
}

# alfred-bench's addresses and pids of the running replicas (comma-separated).
bench_args() {
    local addrs=() port
    for port in "${http_ports[@]}"; do addrs+=("127.0.0.1:$port"); done
    local IFS=,
    printf '%s\n' --addr "${addrs[*]}" --pid "${alfred_pids[*]}" --secret "$secret" \
        --phone-id "$phone_id" --senders "${BENCH_SENDERS:-5000}"
}

run_ingest() {
    local phase=$1 count=$replicas
    if [[ $phase == ingest && $replicas -gt 1 ]]; then
        log "ingest phase: one replica (BENCH_REPLICAS=$replicas applies to ingest-full and e2e)"
        count=1
    fi
    start_alfred "$phase" "$count"
    if [[ $phase == ingest ]]; then
        local readers
        readers=$(curl -fsS -H "Authorization: Bearer $admin_key" \
            "http://127.0.0.1:${admin_ports[0]}/admin/actors" \
            | grep -o '"ingest-reader-[0-9]*"\|"ingest-partitions"' \
            | tr -d '"' | sort -u)
        for reader in $readers; do admin "$reader" stop; done
        log "stopped $(wc -w <<<"$readers") ingest readers: webhook and Redis only"
    fi
    local args
    mapfile -t args < <(bench_args)
    local cmd=("$bench" "${args[@]}" --connections "$connections"
        ingest --seconds "${BENCH_SECONDS:-10}" --warmup "${BENCH_WARMUP:-2}")
    log "${cmd[*]}"
    "${cmd[@]}"
    # The single stream and, with partitions (the default), each partition stream.
    local length=0 key
    while read -r key; do
        [[ -n $key ]] && length=$((length + $(redis xlen "$key")))
    done < <(echo "${prefix}home:alfred-ingest"
        redis --scan --pattern "${prefix}home:alfred-ingest:{p*}")
    printf '  ingest streams length after the run: %s\n' "$length"
    stop_alfred
    drop_data
}

run_e2e() {
    start_alfred e2e "$replicas"
    local args
    mapfile -t args < <(bench_args)
    local cmd=("$bench" "${args[@]}" --connections "${BENCH_E2E_CONNECTIONS:-64}"
        e2e --messages "${BENCH_MESSAGES:-50000}"
        --rate "${BENCH_RATE:-0}" --graph-addr "127.0.0.1:$graph_port")
    log "${cmd[*]}"
    "${cmd[@]}"
    local database_url=${admin_url%/*}/$database
    printf '  postgres: %s\n' "$("$PSQL" "$database_url" -w -Atq -c \
        "SELECT count(*) || ' inbox rows, ' || (SELECT count(*) FROM outbox) || ' outbox rows, '
                || (SELECT count(*) FROM outbox WHERE state = 'sent') || ' sent' FROM inbox")"
    stop_alfred
    drop_data
}

log "machine: $(nproc) cores, $(uname -r); $(redis-server --version | cut -d' ' -f3)"
((replicas == 1)) || log "replicas: $replicas, INGEST_PARTITIONS=$partitions"
for phase in $phases; do
    case $phase in
        ingest | ingest-full) run_ingest "$phase" ;;
        e2e) run_e2e ;;
    esac
done
