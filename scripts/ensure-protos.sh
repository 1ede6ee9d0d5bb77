#!/usr/bin/env bash
# The upstream protobuf schemas of the Kubernetes API, for the API server's protobuf request bodies
# (kubectl's typed clients send them): generated.proto of k8s.io/api and k8s.io/apimachinery, plus
# each package's types.go, whose struct tags say what proto cannot (which fields are Go pointers,
# omitempty/omitzero, inlined structs), so that a decoded body is the JSON kubectl would send.
#
# Lands in a flat tree the server reads: $CACHE/k8s.io/api/core/v1/{generated.proto,types.go}, ...
# with CACHE=${XDG_CACHE_HOME:-~/.cache}/emukube/protos. The modules come from the Go module cache
# or proxy (`go mod download`, works offline once cached), else as .zip from $GOPROXY with curl.
# Idempotent: nothing is fetched when the stamp names the pinned versions and every file is there.
set -euo pipefail

VERSION=v0.35.2  # k8s.io/api and k8s.io/apimachinery, as in kubectl v1.35.2 (scripts/ensure-kubectl.sh)
API_PACKAGES="core/v1 apps/v1 batch/v1 autoscaling/v1 autoscaling/v2 discovery/v1 events/v1 coordination/v1
  policy/v1 rbac/v1 networking/v1 scheduling/v1 authentication/v1 authorization/v1 storage/v1 certificates/v1"
MACHINERY_PACKAGES="pkg/apis/meta/v1 pkg/runtime pkg/runtime/schema pkg/api/resource pkg/util/intstr"

home=~  # bash falls back to the passwd entry when $HOME is unset
CACHE="${XDG_CACHE_HOME:-$home/.cache}/emukube/protos"
STAMP="$CACHE/VERSION"
WANT="k8s.io/api $VERSION
k8s.io/apimachinery $VERSION"

wanted_files() {
  local p
  for p in $API_PACKAGES; do echo "k8s.io/api/$p"; done
  for p in $MACHINERY_PACKAGES; do echo "k8s.io/apimachinery/$p"; done
}

complete() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -f "$CACHE/FILES" ] || return 1
  local d f
  for d in $(wanted_files); do
    [ -s "$CACHE/$d/generated.proto" ] || return 1
  done
  while read -r f; do [ -s "$CACHE/$f" ] || return 1; done < "$CACHE/FILES"
}

if complete; then
  echo "==> Kubernetes protos $VERSION already in $CACHE"
  exit 0
fi
mkdir -p "$CACHE"
# Two setups at once take turns; the second finds the cache complete.
exec 9>"$CACHE/.lock"
flock 9
if complete; then
  echo "==> Kubernetes protos $VERSION already in $CACHE"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || true

# module -> directory holding its extracted files (module root), via go or the proxy's .zip
module_dir() {
  local module=$1 dir
  if [ -n "$GO" ]; then
    # A throwaway module, so that the user's GOFLAGS/go.work cannot get in the way.
    dir=$(cd "$work" && { [ -f go.mod ] || GOTOOLCHAIN=local "$GO" mod init emukube.invalid/protos >/dev/null 2>&1; } &&
          GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off "$GO" mod download -json "$module@$VERSION" 2>/dev/null |
          sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || dir=""
    if [ -n "$dir" ] && [ -d "$dir" ]; then
      echo "    $module@$VERSION from the Go module cache ($dir)" >&2
      echo "$dir"
      return
    fi
  fi
  local proxy url zip="$work/${module//\//_}.zip"
  proxy=$(${GO:-false} env GOPROXY 2>/dev/null || true)
  proxy=${proxy:-${GOPROXY:-https://proxy.golang.org}}
  proxy=${proxy%%[,|]*}
  case "$proxy" in direct|off|"") proxy=https://proxy.golang.org ;; esac
  url="${proxy%/}/$module/@v/$VERSION.zip"
  echo "    $module@$VERSION from $url" >&2
  curl -fsSL --retry 3 -o "$zip" "$url" ||
    { echo "ensure-protos: cannot download $url (offline? Go's module cache would do: go mod download $module@$VERSION)" >&2; exit 1; }
  python3 - "$zip" "$work/x" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if n.endswith(("/generated.proto", "/types.go"))])
PY
  echo "$work/x/$module@$VERSION"
}

echo "==> fetching Kubernetes protos $VERSION into $CACHE"
stage="$CACHE.new.$$"
rm -rf "$stage"
for module in k8s.io/api k8s.io/apimachinery; do
  root=$(module_dir "$module")
  if [ "$module" = k8s.io/api ]; then packages=$API_PACKAGES; else packages=$MACHINERY_PACKAGES; fi
  for p in $packages; do
    [ -f "$root/$p/generated.proto" ] || { echo "ensure-protos: $module@$VERSION has no $p/generated.proto" >&2; exit 1; }
    mkdir -p "$stage/$module/$p"
    cp "$root/$p/generated.proto" "$stage/$module/$p/"
    if [ -f "$root/$p/types.go" ]; then cp "$root/$p/types.go" "$stage/$module/$p/"; fi
  done
done
# Every import must be in the tree, or decoding a kind would fail later, in the server.
for f in $(cd "$stage" && find . -name generated.proto); do
  for imp in $(sed -n 's/^import "\(.*\)";$/\1/p' "$stage/$f"); do
    [ -f "$stage/$imp" ] || { echo "ensure-protos: $f imports $imp, which is not fetched" >&2; exit 1; }
  done
done
(cd "$stage" && find k8s.io -type f | sort) > "$stage/FILES"
printf '%s\n' "$WANT" > "$stage/VERSION"
chmod -R u+w,a+rX "$stage"
# Swap the new tree in whole (the lock file stays behind, outside the tree).
rm -rf "$CACHE.old.$$"
mkdir -p "$CACHE.old.$$"
for entry in "$CACHE"/* ; do [ -e "$entry" ] && mv "$entry" "$CACHE.old.$$/"; done
mv "$stage"/* "$CACHE/"
rm -rf "$stage" "$CACHE.old.$$"
echo "==> $(find "$CACHE" -name generated.proto | wc -l) generated.proto files ($(du -sh "$CACHE" | cut -f1)) in $CACHE"
