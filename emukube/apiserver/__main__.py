"""python3 -m emukube.apiserver --state-dir DIR --port 6443 [--host 0.0.0.0]

Serves the cluster's Kubernetes API over HTTPS from DIR/store.db, with DIR/pki/apiserver.crt and
apiserver.key, accepting the bearer tokens in DIR/pki/tokens. Ready once /readyz answers "ok"
(the line "emukube apiserver: serving on ..." is printed at the same moment)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from . import tls_buffers
from .app import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m emukube.apiserver", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--also-port", type=int, action="append", default=[],
                        help="serve on this port too (443: the `kubernetes` Service's port)")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--plain-http", action="store_true", help="no TLS (tests and debugging only)")
    parser.add_argument("--no-auth", action="store_true", help="accept requests without a token")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    tls_buffers.shrink()
    # Every LIST decodes and encodes thousands of short-lived objects; with the default
    # thresholds the collector's full passes over the long-lived heap (modules, schema) stalled
    # one request in fifty by 10-30 ms. What exists at start is frozen out of those passes.
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 20, 20)

    async def run() -> None:
        task = asyncio.ensure_future(serve(args.state_dir, args.host, args.port, tls=not args.plain_http,
                                           auth=not args.no_auth, more_ports=tuple(args.also_port)))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(run())
    except (OSError, ValueError) as exc:
        print(f"emukube apiserver: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
