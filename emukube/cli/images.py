"""`emukube images ...`: list, pull and build the images emukube runs (see emukube.runtime.images)."""

from __future__ import annotations

import time
from typing import List, Optional

import typer

app = typer.Typer(help="List, pull and build the container images emukube runs.", no_args_is_help=True)
NAMES = typer.Argument(None, help="images (base, echo, pause, coredns) or roles (haproxy, nginx, controller); "
                                   "default: all")


def _client():
    from ..runtime import engine

    return engine.connect()


@app.command("list")
def list_() -> None:
    """Show, for each role, the image emukube would run and whether it is present."""
    from rich.console import Console  # here: rich takes longer to import than most verbs run
    from rich.table import Table

    from ..runtime import images

    table = Table("image", "reference", "present", "source")
    for row in images.status(_client()):
        present = "[green]yes[/green]" if row["present"] else "[red]no[/red]"
        table.add_row(row["name"], row["ref"], present, row["source"])
    Console().print(table)


@app.command()
def pull(names: Optional[List[str]] = NAMES) -> None:
    """Pull the upstream images (needs a registry)."""
    from ..runtime import images

    try:
        images.pull(_client(), names or None, log=typer.echo)
    except (images.PullError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


@app.command()
def build(
    names: Optional[List[str]] = NAMES,
    offline: bool = typer.Option(True, "--offline/--no-offline",
                                 help="build everything locally; --no-offline pulls pause and coredns instead"),
) -> None:
    """Build the missing images from images/ (debootstrap + Go; no registry needed)."""
    from ..errors import EmukubeError
    from ..lifecycle import code
    from ..runtime import images

    t0 = time.monotonic()
    client = _client()
    try:
        built = images.build(client, names or None, offline=offline, log=typer.echo)
        if not names or "controller" in names:  # the first `up` need not make it (lifecycle/code.py)
            ref, _ = code.controller_image(client)
            typer.echo(f"controller: {ref} (the controller's image with this code) present")
    except (images.BuildError, images.PullError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    except EmukubeError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{len(built)} image(s) built in {time.monotonic() - t0:.0f}s" if built else "all images present")


def register(root) -> None:
    root.add_typer(app, name="images", help="List, pull or build the images emukube runs.")
