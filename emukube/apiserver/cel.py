"""CEL as Kubernetes' admission evaluates it (ValidatingAdmissionPolicies, webhooks'
matchConditions): the Rust interpreter of PyPI's common-expression-language, with its pure-Python
standard library (the strings, lists, math, sets and encoders extensions, as cel-go's). Only its
native module and that library are loaded: the wheel's package imports a CLI framework the
controller's image does not have, so the image holds those two files alone (lifecycle/code.py)
under vendor/cel, and the host's virtualenv is read from where pip put them.

Errors are worded as cel-go's: `no such key: replicas`."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from pathlib import Path
from typing import Any

# In the controller's image, beside the package: /opt/emukube/vendor/cel.
VENDORED = Path(__file__).resolve().parents[2] / "vendor" / "cel"
_lock = threading.Lock()
_loaded: tuple[Any, Any] | None = None


class CelError(Exception):
    """An expression that does not compile, or whose evaluation failed (its message cel-go's)."""


def native_folder() -> Path | None:
    """Where the native module and stdlib.py are: the image's copy, else the installed wheel's."""
    if VENDORED.is_dir():
        return VENDORED
    loaded = sys.modules.get("cel")  # the bare package _modules() made (it has no __spec__)
    if loaded is not None and getattr(loaded, "__path__", None):
        return Path(list(loaded.__path__)[0])
    spec = importlib.util.find_spec("cel")  # finds the package without running its __init__
    return Path(spec.origin).parent if spec is not None and spec.origin else None


def _modules() -> tuple[Any, Any]:
    global _loaded
    with _lock:
        if _loaded is None:
            folder = native_folder()
            if folder is None:
                raise CelError("CEL is not available: the common-expression-language package is missing")
            if "cel" not in sys.modules:  # a bare package: its submodules, without the wheel's __init__
                package = types.ModuleType("cel")
                package.__path__ = [str(folder)]
                sys.modules["cel"] = package
            _loaded = importlib.import_module("cel.cel"), importlib.import_module("cel.stdlib")
        return _loaded


def _worded(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0] if exc.args else ''}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def evaluate(expression: str, variables: dict) -> Any:
    """The expression's value with these variables (object, oldObject, request, params...)."""
    native, stdlib = _modules()
    context = native.Context(variables)
    stdlib.add_stdlib_to_context(context)
    try:
        return native.evaluate(expression, context)
    except ValueError as exc:
        if "parse" in str(exc).lower():
            raise CelError(f"compilation failed: {_worded(exc)}") from None
        raise CelError(_worded(exc)) from None
    except Exception as exc:  # noqa: BLE001 - the interpreter's KeyError, TypeError, RuntimeError...
        raise CelError(_worded(exc)) from None


def compile_problem(expression: str) -> str | None:
    """cel-go's `compilation failed: ERROR: <input>:1:24: Syntax error: ...` for an expression
    that does not parse; None when it parses, or uses syntax only this interpreter lacks
    (`object.?spec`): that is said when a write reaches it, not held against the policy."""
    native, _ = _modules()
    try:
        native.compile(expression)
    except ValueError as exc:
        text = str(exc)
        detail = text.split("': ", 1)[1] if "': " in text else text
        return None if "unsupported syntax" in detail else f"compilation failed: {detail}"
    return None
