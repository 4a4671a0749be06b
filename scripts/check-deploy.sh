#!/usr/bin/env bash
# Checks the deployment files under docker/ without Docker: `./scripts/check-deploy.sh`.
# scripts/test.sh runs it; it can also run alone. It fails fast, naming what failed:
#   promtool check config docker/prometheus/prometheus.yml   (and the rule files it names)
#   promtool check rules  docker/prometheus/alerts.yml
#   promtool test rules   docker/prometheus/alerts_test.yml  (every alert fires and stays quiet)
#   check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yaml
#   every Grafana dashboard under docker/grafana/dashboards/ parses as JSON, with schemaVersion
# That every metric the rules and the dashboard use is one Alfred exports is a Rust test
# (tests/metrics_used.rs).
#
# Tools: promtool comes with Debian's `prometheus` package; as root with apt-get it is installed
# here, as scripts/test.sh installs dovecot-imapd. check-jsonschema comes from PyPI into a
# virtual environment under ${XDG_CACHE_HOME:-$HOME/.cache}/alfred-test-venv (created once,
# reused; ALFRED_TEST_VENV overrides the place).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- tools ---------------------------------------------------------------------------------------
install_apt() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
        </dev/null >&2
}
# Installs Debian packages when running as root with apt-get; otherwise does nothing.
apt_install() {
    [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || return 0
    log "installing $*"
    if ! install_apt "$@"; then
        log "apt-get install failed; running apt-get update and trying again"
        if apt-get update -q </dev/null >&2; then install_apt "$@" || true; fi
    fi
}

if ! command -v promtool >/dev/null; then
    apt_install prometheus
    command -v promtool >/dev/null \
        || die "promtool is missing: apt-get install prometheus (Debian's package ships promtool)"
fi

venv=${ALFRED_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/alfred-test-venv}
check_jsonschema=$venv/bin/check-jsonschema
if [[ ! -x $check_jsonschema ]]; then
    command -v python3 >/dev/null || apt_install python3
    # Debian's python3 makes virtual environments only with python3-venv.
    python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
    log "creating a virtual environment with check-jsonschema in $venv"
    python3 -m venv "$venv" \
        || die "python3 -m venv $venv failed (apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check check-jsonschema >&2 \
        || die "pip install check-jsonschema into $venv failed"
fi

# --- checks --------------------------------------------------------------------------------------
# Runs a check quietly; on failure shows its output, then stops with `message`.
check() {
    local message=$1 output
    shift
    output=$("$@" 2>&1) || { printf '%s\n' "$output" >&2; die "$message"; }
}

log "promtool check config docker/prometheus/prometheus.yml"
check "docker/prometheus/prometheus.yml is not a valid Prometheus configuration (above)" \
    promtool check config docker/prometheus/prometheus.yml

log "promtool check rules docker/prometheus/alerts.yml"
check "docker/prometheus/alerts.yml has invalid rules (above)" \
    promtool check rules docker/prometheus/alerts.yml

log "promtool test rules docker/prometheus/alerts_test.yml"
check "an alert rule's unit test failed (docker/prometheus/alerts_test.yml, above)" \
    promtool test rules docker/prometheus/alerts_test.yml

log "check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yaml"
check "docker/compose.yaml does not follow the compose specification (above)" \
    "$check_jsonschema" --builtin-schema vendor.compose-spec docker/compose.yaml

log "Grafana dashboards parse as JSON"
for dashboard in docker/grafana/dashboards/*.json; do
    python3 - "$dashboard" <<'EOF' || die "$dashboard is not a valid dashboard (above)"
import json, sys
path = sys.argv[1]
with open(path) as f:
    dashboard = json.load(f)
if not isinstance(dashboard.get("schemaVersion"), int):
    sys.exit(f"{path}: schemaVersion is missing")
if not dashboard.get("panels"):
    sys.exit(f"{path}: no panels")
EOF
done

log "deployment files checked"
