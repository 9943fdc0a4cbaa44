#!/usr/bin/env bash
# install-deps.sh — install every Debian package rayd needs to build, run and
# test. Idempotent: only missing packages are installed. Run as root (or with
# sudo available). Used by `make demo`, `make test` and .ci/run.
set -euo pipefail

# (msgpack-c is not among them: the frames are written by our own mpw_*
# writer, faster on our frames; docs/protocol.md "Writer")
PKGS=(
  build-essential pkg-config
  libhiredis-dev libevent-dev libyaml-dev check
  redis-server redis-tools
  iproute2 iputils-ping procps psmisc netcat-openbsd
  clang libclang-rt-14-dev
  openssh-client openssh-server rsync
  curl wrk chromium prometheus openmpi-bin libopenmpi-dev
  libssl-dev openssl python3
  valgrind  # make bench: bench/instr_cost.sh counts instructions with callgrind
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system redis-server on install; rayd starts its own.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
if [ -x /etc/init.d/redis-server ]; then $SUDO /etc/init.d/redis-server stop >/dev/null 2>&1 || true; fi
# the same for Prometheus (the dashboard test runs its own, on its own port)
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true; fi
for s in prometheus prometheus-node-exporter; do
  if [ -x /etc/init.d/$s ]; then $SUDO /etc/init.d/$s stop >/dev/null 2>&1 || true; fi
done
exit 0
