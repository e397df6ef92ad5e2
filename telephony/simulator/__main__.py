"""`python -m telephony.simulator serve|call` (console script `pbx-simulator`)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from telephony.config import TelephonyConfig
from telephony.simulator import dialer_outcomes as oc
from telephony.simulator.catalogue import SCENARIO_NAMES
from telephony.simulator.control import create_control_app
from telephony.simulator.demo import run_demo
from telephony.simulator.dialer import (
    DEFAULT_MEMBERS,
    DEFAULT_TRUNK,
    DIAL_TIMEOUT_SECONDS,
    QUEUE_WAIT_SECONDS,
    DialerFloor,
    DialerSettings,
)
from telephony.simulator.mixmonitor import MixMonitor
from telephony.simulator.originate import Trunk
from telephony.simulator.server import PbxSimulator

HTTP_TIMEOUT = 10.0
DEFAULT_HOLD_SECONDS = 300.0  # a guided call of ten steps takes a few minutes


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _weights(text: str) -> dict[str, float]:
    try:
        return oc.parse_weights(text)
    except oc.OutcomeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_dialer(args: argparse.Namespace) -> DialerFloor:
    try:
        trunk = Trunk.parse(args.dialer_trunk)
    except ValueError as exc:
        raise SystemExit(f"pbx-simulator: --dialer-trunk: {exc}") from None
    settings = DialerSettings(members=list(args.dialer_agents), trunk=trunk,
                              ring_seconds=args.dialer_ring_seconds,
                              agent_ring_seconds=args.dialer_agent_ring_seconds,
                              talk_seconds=args.dialer_talk_seconds,
                              queue_wait_seconds=args.dialer_queue_wait,
                              dial_timeout_seconds=args.dialer_dial_timeout)
    return DialerFloor(settings, oc.OutcomePicker(args.dialer_outcomes, seed=args.seed))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pbx-simulator",
                                     description="AMI server replaying recorded Asterisk calls")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the AMI server and its control endpoint")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5038)
    serve.add_argument("--control-host", default="127.0.0.1")
    serve.add_argument("--control-port", type=int, default=5039)
    serve.add_argument("--username", default="screenpop")
    serve.add_argument("--secret", default="screenpop-demo")
    serve.add_argument("--login-failure-delay", type=float, default=1.0)
    serve.add_argument("--speed", type=float, default=1.0,
                       help="gap factor for Originate/control calls (0 = as fast as possible)")
    serve.add_argument("--demo", action="store_true", help="keep placing calls")
    serve.add_argument("--demo-agents", type=_csv, default=["PJSIP/6001", "PJSIP/6002"])
    serve.add_argument("--demo-numbers", type=_csv,
                       default=["+525512345678", "5215587654321", "5533334444", "anonymous"])
    serve.add_argument("--demo-interval", type=float, default=10.0)
    serve.add_argument("--hold-for", type=float, default=DEFAULT_HOLD_SECONDS,
                       help="seconds an answered call lasts unless the order gives --hold-for "
                            f"(default {DEFAULT_HOLD_SECONDS:g}: time to follow the guided call; "
                            "0 = as recorded)")
    serve.add_argument("--agi-host", default="127.0.0.1",
                       help="the telephony service's FastAGI server, for IVR calls' look-up")
    serve.add_argument("--agi-port", type=int,
                       help="its port (telephony's AGI_PORT); unset: IVR look-ups fail, as with "
                            "the server down")
    serve.add_argument("--ring-in-use", action="store_true",
                       help="let a queue ring members already on a call (queues.conf ringinuse=yes)")
    serve.add_argument("--recordings", type=Path,
                       help="write each answered call's recording below this folder, as "
                            "MixMonitor names it (YYYY/MM/DD/<linkedid>.wav, the date in TZ_NAME)")
    dialer = serve.add_argument_group("dialer Originates (contexts dialer / dialer-connect)")
    dialer.add_argument("--dialer-outcomes", type=_weights, default={oc.CONNECTED: 1.0},
                        help="outcome weights, e.g. connected=60,no_answer=15,busy=10,"
                             "not_found=5,machine=5,agent_unreachable=5 (default: all connected)")
    dialer.add_argument("--seed", type=int, help="seed of the outcome draw (repeatable runs)")
    dialer.add_argument("--dialer-agents", type=_csv, default=list(DEFAULT_MEMBERS),
                        help="registered agents and queue members, in the queue's order")
    dialer.add_argument("--dialer-trunk", default=DEFAULT_TRUNK,
                        help="the trunk agent-first calls dial the customer through")
    dialer.add_argument("--dialer-ring-seconds", type=float,
                        help="seconds the customer rings before answering or rejecting "
                             "(default: as recorded, 1.5 / 1)")
    dialer.add_argument("--dialer-agent-ring-seconds", type=float,
                        help="seconds an agent's phone rings before answering (recorded: 1.5)")
    dialer.add_argument("--dialer-talk-seconds", type=float,
                        help="seconds a connected call talks before the customer hangs up "
                             "(recorded: 3)")
    dialer.add_argument("--dialer-queue-wait", type=float, default=QUEUE_WAIT_SECONDS,
                        help="seconds a customer waits for a free agent before hanging up")
    dialer.add_argument("--dialer-dial-timeout", type=float, default=DIAL_TIMEOUT_SECONDS,
                        help="agent first: seconds the customer rings before no answer")
    call = sub.add_parser("call", help="ask a running simulator to place a call")
    call.add_argument("scenario", choices=SCENARIO_NAMES)
    call.add_argument("--customer")
    call.add_argument("--name")
    call.add_argument("--agents", type=_csv)
    call.add_argument("--queue")
    call.add_argument("--strategy", choices=("linear", "ringall", "rrmemory"))
    call.add_argument("--answered-by")
    call.add_argument("--hold-for", type=float,
                      help="seconds the call stays answered before it ends as recorded")
    call.add_argument("--speed", type=float)
    call.add_argument("--control-url", default="http://127.0.0.1:5039")
    return parser


def build_monitor(args: argparse.Namespace,
                  env: Mapping[str, str]) -> Callable[[bytes], None] | None:
    if args.recordings is None:
        return None
    tz = ZoneInfo(env.get("TZ_NAME", "").strip() or TelephonyConfig.tz_name)
    return MixMonitor(args.recordings, tz).feed


async def serve(args: argparse.Namespace) -> None:
    sim = PbxSimulator(username=args.username, secret=args.secret, host=args.host,
                       port=args.port, login_failure_delay=args.login_failure_delay,
                       default_speed=args.speed, default_hold=args.hold_for or None,
                       ring_in_use=args.ring_in_use,
                       agi_target=(args.agi_host, args.agi_port) if args.agi_port else None,
                       dialer=build_dialer(args), monitor=build_monitor(args, os.environ))
    await sim.start()
    runner = web.AppRunner(create_control_app(sim, default_agents=args.demo_agents))
    await runner.setup()
    await web.TCPSite(runner, args.control_host, args.control_port).start()
    print(f"pbx-simulator: AMI on {args.host}:{sim.port}, control on "
          f"http://{args.control_host}:{args.control_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    demo = None
    if args.demo:
        demo = asyncio.create_task(run_demo(sim, args.demo_agents, args.demo_numbers,
                                            args.demo_interval))
    try:
        await stop.wait()
    finally:
        if demo is not None:
            demo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await demo
        await runner.cleanup()
        await sim.stop()


async def place_call(args: argparse.Namespace) -> int:
    body: dict[str, object] = {"scenario": args.scenario}
    for key in ("customer", "name", "agents", "queue", "strategy", "answered_by", "hold_for",
                "speed"):
        value = getattr(args, key)
        if value is not None:
            body[key] = value
    if body.get("hold_for") is not None:
        body["hold_at"] = "answered"
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.post(args.control_url.rstrip("/") + "/calls", json=body) as response:
            payload = await response.json()
            print(json.dumps(payload, ensure_ascii=False))
            return 0 if response.status == 202 else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "serve":
        asyncio.run(serve(args))
        return 0
    try:
        return asyncio.run(place_call(args))
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"pbx-simulator: cannot reach {args.control_url}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
