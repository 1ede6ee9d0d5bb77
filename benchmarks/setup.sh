#!/usr/bin/env bash
# What the benchmarks need beyond `make setup`: a compose implementation for the side-by-side
# row of section 1 (Debian's docker-compose; the table says so when there is none) and Go for
# the load tools (built from the Go module proxy by bench/tools.py).
set -euo pipefail
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing docker-compose (Debian) for the compose baseline"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }; } ||
      echo "docker-compose could not be installed: the compose row will say so" >&2
  fi
fi
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] ||
  { echo "Go is needed to build the load tools (hey, ekload)" >&2; exit 1; }
