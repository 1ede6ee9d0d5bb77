"""emukube's code as the controller runs it: which files, their version, and the image that
holds them (runtime/code_image.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import EmukubeError
from ..runtime import code_image, engine, images

CODE_DIR = "/opt/emukube"
PACKAGE_DIR = f"{CODE_DIR}/emukube"


def files() -> list[tuple[Path, str]]:
    """(file, its path in the image): the package and its templates, the OpenAPI definitions
    the API server serves (kubernetes-validate's copy), and the .proto files it decodes
    protobuf bodies with (scripts/ensure-protos.sh)."""
    from ..render import template_dir

    package = Path(__file__).resolve().parents[1]
    found = [(p, f"{PACKAGE_DIR[1:]}/{p.relative_to(package)}")
             for p in sorted([*package.rglob("*.py"), *package.rglob("*.json")]) if "__pycache__" not in p.parts]
    found += [(p, f"{PACKAGE_DIR[1:]}/compose-templates/{p.name}") for p in sorted(template_dir().iterdir())]
    found.append((_definitions(), f"{CODE_DIR[1:]}/schema/_definitions.json"))
    protos = _protos()
    found += [(p, f"{CODE_DIR[1:]}/protos/{p.relative_to(protos)}") for p in sorted(protos.rglob("*")) if p.is_file()]
    return found + _cel()


def _cel() -> list[tuple[Path, str]]:
    """The CEL interpreter's native module and standard library (apiserver/cel.py loads them
    from vendor/cel: the wheel's own package needs a CLI framework the image lacks)."""
    from ..apiserver.cel import native_folder

    folder = native_folder()
    if folder is None:
        raise EmukubeError("error: the common-expression-language package is missing: run scripts/setup.sh")
    return [(p, f"{CODE_DIR[1:]}/vendor/cel/{p.name}") for p in sorted(folder.glob("cel.cpython-*.so"))
            + [folder / "stdlib.py"]]


def version(listed: list[tuple[Path, str]] | None = None) -> str:
    """A hash of the files' paths and contents: a new emukube version replaces the controller."""
    h = hashlib.sha256()
    for path, name in listed if listed is not None else files():
        h.update(f"{name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def archive(listed: list[tuple[Path, str]]) -> bytes:
    return engine.tar_of({name: (path.read_bytes(), 0o644) for path, name in listed})


def controller_image(client) -> tuple[str, str]:
    """(the image the controller runs, the code version): the controller role's image with
    this code in it, made first when missing."""
    listed = files()
    current = version(listed)
    try:
        base = images.resolve(client, "controller")
        return code_image.ensure(client, base, current, lambda: archive(listed), PACKAGE_DIR), current
    except (images.ImageMissing, images.BuildError) as exc:
        raise EmukubeError(f"error: {exc}") from None


def _protos() -> Path:
    from ..apiserver.protobuf import default_dir

    found = Path(default_dir())
    if not (found / "k8s.io").is_dir():
        raise EmukubeError(f"the Kubernetes .proto files are missing at {found}: run scripts/ensure-protos.sh "
                           "(part of `make setup`)")
    return found


def _definitions() -> Path:
    from importlib.util import find_spec

    # Found, not imported: importing kubernetes_validate takes 0.15 s.
    spec = find_spec("kubernetes_validate")
    if spec is None or not spec.origin:
        raise EmukubeError("the Python package kubernetes-validate is missing (part of `make setup`)")
    return Path(spec.origin).parent / "kubernetes-json-schema" / "v1.35.0-local" / "_definitions.json"
