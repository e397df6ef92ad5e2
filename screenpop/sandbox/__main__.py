"""`python -m screenpop.sandbox --port 8090 [--seed PATH]`: a local WispHub to develop against."""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from screenpop.sandbox.server import WispHubSandbox
from screenpop.sandbox.store import DEFAULT_SEED


async def serve(args: argparse.Namespace) -> None:
    sandbox = WispHubSandbox(args.seed)
    await sandbox.start(port=args.port, host=args.host)
    print(f"WispHub sandbox: API {sandbox.url} (Api-Key {sandbox.api_key}) · panel "
          f"{sandbox.panel_url} ({sandbox.panel_user} / {sandbox.panel_password})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wisphub-sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--seed", default=str(DEFAULT_SEED), help="JSON seed file")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"wisphub-sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
