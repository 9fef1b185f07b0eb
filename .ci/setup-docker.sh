#!/usr/bin/env bash
# What the Docker executor tests need, on a fresh Debian machine, as root: Debian's docker.io
# and busybox-static, dockerd running, and the test image berth-test-busybox (FROM scratch plus a
# static busybox) built locally, since no registry need be reachable. Idempotent: each step is
# skipped when already done, so running it twice costs about a second.
#
# Not root (a developer's machine): it says so and does nothing; the Docker tests then skip and
# say why. A real site sets Docker up as the README's "Running jobs in containers" describes.
set -euo pipefail

IMAGE=berth-test-busybox
LOG=/var/log/berth-dockerd.log

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-docker: not root, nothing done (the Docker tests will skip and say why)"
    exit 0
fi

static_busybox() {
    local linkage
    [ -x /bin/busybox ] || return 1
    linkage=$(ldd /bin/busybox 2>&1 || true)
    [[ $linkage == *"not a dynamic executable"* ]]
}

packages=()
command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
static_busybox || packages+=(busybox-static)  # the image has no libc: busybox must be static
if [ ${#packages[@]} -gt 0 ]; then
    echo "setup-docker: installing ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

if ! docker version >/dev/null 2>&1; then
    echo "setup-docker: starting dockerd (log: $LOG)"
    # Detached from this shell: CI keeps it for the tests; it needs no systemd.
    setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
    for _ in $(seq 1 120); do
        docker version >/dev/null 2>&1 && break
        sleep 0.5
    done
    if ! docker version >/dev/null 2>&1; then
        echo "setup-docker: dockerd did not answer within 60 s; the end of $LOG:" >&2
        tail -n 30 "$LOG" >&2 || true
        exit 1
    fi
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "setup-docker: building $IMAGE"
    context=$(mktemp -d)
    trap 'rm -rf "$context"' EXIT
    mkdir "$context/bin"
    cp /bin/busybox "$context/bin/busybox"
    cat >"$context/Dockerfile" <<'EOF'
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
EOF
    if ! docker build -q -t "$IMAGE" "$context" >"$context/build.log" 2>&1; then
        cat "$context/build.log" >&2
        exit 1
    fi
fi
echo "setup-docker: dockerd answers, image $IMAGE is ready"
