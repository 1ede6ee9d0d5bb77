#!/usr/bin/env bash
# Everything emukube needs on a fresh Debian/Ubuntu machine, idempotent: a Docker engine, a
# virtualenv with the package, and every image built offline (no registry needed).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh

need_apt=()
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
# The config renderers' tests check HAProxy and nginx configs with the real programs.
command -v haproxy >/dev/null || need_apt+=(haproxy)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need_apt+=(nginx-light libnginx-mod-stream)
# `emukube graph --output x.svg|png` draws with Graphviz.
command -v dot >/dev/null || need_apt+=(graphviz)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "missing: ${need_apt[*]} (install them, then run this again)" >&2
    exit 1
  fi
fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
command -v go >/dev/null || { echo "Go >= 1.24 is needed to build CoreDNS offline (https://go.dev/dl)" >&2; exit 1; }

if [ ! -x .venv/bin/emukube ] || [ pyproject.toml -nt .venv/bin/emukube ]; then
  echo "==> creating .venv with emukube"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/bin/emukube
fi
# An editable install leaves compiling to the first import, and a shell that sets
# PYTHONDONTWRITEBYTECODE never keeps the result: every command then compiled ~90 modules
# again (0.1 s each time). Compiled here, as installing a wheel does; up-to-date files are skipped.
.venv/bin/python -m compileall -q emukube

# `docker compose`, to run what `emukube export compose` writes (and its test).
bash scripts/ensure-compose.sh
# kubectl 1.35 and helm 4, offline, for users (`emukube kubectl --`) and the kubectl tests.
bash scripts/ensure-kubectl.sh
# Kubernetes' generated.proto + types.go (k8s.io/api v0.35.2): the API server decodes the
# protobuf bodies kubectl's `create` verbs send with them.
bash scripts/ensure-protos.sh

echo "==> building images offline (skipped when already present)"
.venv/bin/emukube images build --offline
