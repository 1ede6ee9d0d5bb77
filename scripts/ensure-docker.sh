#!/usr/bin/env bash
# Make sure a Docker engine answers. On Debian/Ubuntu as root, install Debian's docker.io and
# start dockerd in the background when none does; elsewhere, say how to start one and fail.
set -euo pipefail

engine_answers() { timeout 5 docker info >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  : # no client either: docker.io below brings both
elif engine_answers; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "No Docker engine answers on ${DOCKER_HOST:-unix:///var/run/docker.sock}." >&2
  echo "Start Docker (Docker Desktop, or 'sudo systemctl start docker') and run this again." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "==> installing Debian's docker.io (no engine found)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io iptables ca-certificates >/dev/null
fi

if ! engine_answers; then
  echo "==> starting dockerd in the background (log: /var/log/emukube-dockerd.log)"
  # A container without systemd: start the daemons by hand, detached from this shell.
  nohup dockerd >/var/log/emukube-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    engine_answers && break
    sleep 1
  done
fi

if ! engine_answers; then
  echo "dockerd did not answer within 60 s; see /var/log/emukube-dockerd.log" >&2
  tail -n 20 /var/log/emukube-dockerd.log >&2 || true
  exit 1
fi
echo "==> Docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) is up"
