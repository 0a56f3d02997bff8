#!/usr/bin/env bash
# Docker for tests/container: Debian's docker.io (dockerd, containerd, runc) and docker-compose, a running
# dockerd, and a Debian base image made with debootstrap, because no image registry is reachable here.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
echo "scripts/deps/60-docker.sh: docker.io, a running dockerd and a debootstrap base image (tests/container); skipped when there" >&2
BASE_IMAGE="${CLOUDTASKS_EMU_TEST_BASE:-cloudtasks-emu-base:bookworm}"
LOG=/var/log/cloudtasks-emu-dockerd.log

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || ! command -v docker-compose >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io docker-compose debootstrap ca-certificates iptables >/dev/null
fi

docker_up() { timeout 10 docker info >/dev/null 2>&1; }
if ! docker_up; then
  # Started detached so that it outlives this script; its log says why when it fails.
  setsid nohup dockerd >"$LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    if docker_up; then break; fi
    sleep 0.5
  done
  if ! docker_up; then
    # Not fatal for the whole run: tests/container fail and point here, the other tests still run.
    echo "60-docker.sh: dockerd did not start within 30 s; the last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 0
  fi
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" \
    http://deb.debian.org/debian >/dev/null
  # Shrink what we import: package lists and caches are of no use inside the image.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  # pip inside the build must trust what this machine trusts (a TLS-inspecting proxy may stand before
  # PyPI): the host's CA bundle goes into the base image, never into our Dockerfile.
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  fi
  tar -C "$root" -c . | docker import \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    - "$BASE_IMAGE" >/dev/null
fi
