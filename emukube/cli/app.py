"""The `emukube` command: the Typer app, each verb group's registration, and how an error that
ends a verb reaches the user (one line, an exit code, no traceback)."""

from __future__ import annotations

import signal
import sys

import typer

from ..errors import EmukubeError
from . import access, diagnose, images, kube, lifecycle, nodes, objects, testing, workloads
from .options import err
from .output import invoked_as

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Kubernetes Services, Deployments and DNS as real Docker containers, without Kubernetes.")

# In the order `emukube --help` lists them.
for group in (lifecycle, objects, images, workloads, access, diagnose, testing, nodes, kube):
    group.register(app)


def os_error_line(exc: OSError) -> str:
    """One line for a file, permission or connection error, as Go's os errors read
    ("open PATH: no such file or directory"); a lost engine says so."""
    import requests

    if isinstance(exc, requests.RequestException):
        cause: BaseException = exc  # requests wraps urllib3's error, which wraps http.client's
        while (inner := next((a for a in cause.args if isinstance(a, BaseException)), None)) is not None:
            cause = inner
        from ..runtime import engine

        return f"error: lost the connection to the Docker engine at {engine.socket_name()} ({_first_line(cause)})"
    if exc.filename is not None:
        where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
        return f"error: {where}: {(exc.strerror or str(exc)).lower()}"
    return f"error: {_first_line(exc.strerror or exc)}"


def _first_line(text) -> str:
    return (str(text).strip().splitlines() or [type(text).__name__])[0][:500]


def main() -> None:
    prog = invoked_as()
    try:
        app()
    except BaseException as exc:
        # The error is being reported: a Ctrl-C now just ends the process, with no traceback.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        sys.exit(_report(exc, prog))
    finally:  # likewise once the work is done: not the interpreter's clean-up
        signal.signal(signal.SIGINT, signal.SIG_DFL)


def _report(exc: BaseException, prog: str) -> int:
    """Print what ended the verb as the user's error, in one line, and return its exit code;
    anything else (typer's exit, a bug) goes on."""
    if isinstance(exc, EmukubeError):
        for line in str(exc).splitlines():
            line = line.replace("`emukube ", f"`{prog} ")  # hints are to be typed as they read
            err(line if line.startswith(("error", "Error")) else f"error: {line}")
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        err("interrupted")
        return 130
    # Only a verb that talked to the engine imported docker (`get` does not: it starts faster).
    docker_errors = sys.modules.get("docker.errors")
    # An engine refusal is not a bug of the caller's: no traceback.
    if docker_errors and isinstance(exc, docker_errors.DockerException):
        err(f"error: the Docker engine refused: {_first_line(getattr(exc, 'explanation', None) or exc)}")
        return 2
    if isinstance(exc, OSError):  # files, permissions, a connection lost: the user's to fix, not a bug
        err(os_error_line(exc))
        return 2
    raise exc
