#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ (cargo-fuzz, libFuzzer) for a bounded time each.
#
# Usage:
#   ./scripts/fuzz.sh [TARGET|all] [SECONDS]   each target (or one) for SECONDS (default 60)
#   ./scripts/fuzz.sh --keep [TARGET|all] [SECONDS]
#                                              the same, then merges the inputs that found new
#                                              coverage into the checked-in fuzz/corpus/<target>
#   ./scripts/fuzz.sh --list                   the targets
#
# The targets: whatsapp_payload, whatsapp_signature, slack_events, slack_commands,
# slack_signature, grocery_parse, chores_parse, reminders_parse, crm_import, mail_parse (fuzz/README.md says what
# each checks besides "does not panic").
#
# cargo-fuzz is installed with `cargo install cargo-fuzz --locked` (version $CARGO_FUZZ_VERSION)
# when `cargo fuzz` is missing. Only the stable toolchain is needed: cargo-fuzz's nightly-only
# flags are let through with RUSTC_BOOTSTRAP=1, and the targets are built without a sanitizer
# (--sanitizer none): Rust code is memory safe, so the properties checked are panics, integer
# overflows (debug assertions are on) and the targets' own assertions. See
# docs/adr/2026-12-02-fuzzing-on-stable.md.
#
# Each run reads the checked-in corpus and writes what it finds to a temporary directory, so
# the checkout stays clean (unless --keep). A failing input is saved under
# fuzz/artifacts/<target>/ (ignored by git) and the script stops with the command that
# reproduces it. The first build compiles the dependencies instrumented (several minutes);
# fuzz/target keeps them.
#
# Environment:
#   CARGO_FUZZ_VERSION     the cargo-fuzz installed when missing (default 0.13.2)
#   ALFRED_FUZZ_TIMEOUT    seconds one input may take before it counts as a hang (default 10)
#   ALFRED_FUZZ_RSS_MB     memory limit of a run in MiB (default 2048)
#   ALFRED_FUZZ_SEED       libFuzzer's random seed (default: a new one each run). With a fixed
#                          seed, a run mutates the same inputs in the same order, so a short run
#                          (the test script's) explores what a longer run with that seed has
#                          already been through: see docs/adr/2026-12-02-fuzzing-in-the-test-script.md.
#                          Each run prints its seed, so a failure can be replayed either way.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

targets=(whatsapp_payload whatsapp_signature slack_events slack_commands slack_signature
    grocery_parse chores_parse reminders_parse crm_import mail_parse)

keep=0
case ${1:-} in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --list) printf '%s\n' "${targets[@]}"; exit 0 ;;
    --keep) keep=1; shift ;;
esac
which=${1:-all}
seconds=${2:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive whole number, not '$seconds'"
seed=${ALFRED_FUZZ_SEED:-}
[[ -z $seed || $seed =~ ^[1-9][0-9]*$ ]] \
    || die "ALFRED_FUZZ_SEED must be a positive whole number, not '$seed'"
if [[ $which != all ]]; then
    printf '%s\n' "${targets[@]}" | grep -qx -- "$which" \
        || die "no fuzz target '$which' (one of: ${targets[*]})"
    targets=("$which")
fi

# --- tools ---------------------------------------------------------------------------------------
if ! command -v cargo >/dev/null && [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup"
if ! cargo fuzz --version >/dev/null 2>&1; then
    version=${CARGO_FUZZ_VERSION:-0.13.2}
    log "installing cargo-fuzz $version (cargo install cargo-fuzz --locked): cargo fuzz is missing"
    cargo install cargo-fuzz --version "$version" --locked
fi
# libFuzzer's runtime is C++, compiled by the libfuzzer-sys build script.
command -v c++ >/dev/null || command -v g++ >/dev/null || command -v clang++ >/dev/null \
    || die "a C++ compiler is missing (libFuzzer is built from source): apt-get install g++"

# cargo-fuzz passes nightly-only flags to rustc and cargo; this lets the stable toolchain take
# them (see the ADR). Only for the cargo fuzz commands below.
fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }

# --- run -----------------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/alfred-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ((${#targets[@]} == 1)); then
    log "cargo fuzz build ${targets[0]} (no sanitizer, debug assertions on)"
    fuzz build --sanitizer none "${targets[0]}"
else
    log "cargo fuzz build (all targets; no sanitizer, debug assertions on)"
    fuzz build --sanitizer none
fi

for target in "${targets[@]}"; do
    found=$work/$target
    mkdir -p "$found"
    log "fuzzing $target for ${seconds}s (corpus: fuzz/corpus/$target, new inputs kept in a temporary directory)"
    status=0
    # New inputs go to the first directory (the temporary one); the checked-in corpus is read.
    fuzz run --sanitizer none "$target" "$found" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout="${ALFRED_FUZZ_TIMEOUT:-10}" \
        -rss_limit_mb="${ALFRED_FUZZ_RSS_MB:-2048}" -print_final_stats=1 ${seed:+-seed="$seed"} \
        >"$work/$target.log" 2>&1 || status=$?
    used_seed=$(sed -n 's/^INFO: Seed: *//p' "$work/$target.log" | head -n 1)
    if ((status != 0)); then
        tail -n 80 "$work/$target.log" >&2
        die "fuzz target $target failed (seed ${used_seed:-?}); the input is under fuzz/artifacts/$target/ (see the command above to reproduce it)"
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log" | tail -n 1)
    log "$target: ${runs:-?} inputs in ${seconds}s (seed ${used_seed:-?}), no failure; $(find "$found" -type f | wc -l) new inputs found"
    if ((keep)); then
        log "merging the inputs that add coverage into fuzz/corpus/$target"
        fuzz run --sanitizer none "$target" "fuzz/corpus/$target" "$found" -- -merge=1 \
            >"$work/$target.merge.log" 2>&1 \
            || { tail -n 40 "$work/$target.merge.log" >&2; die "merging into fuzz/corpus/$target failed"; }
    fi
done
log "fuzzing passed (${#targets[@]} target(s), ${seconds}s each)"
