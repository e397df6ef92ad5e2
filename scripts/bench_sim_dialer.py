"""How fast the PBX simulator answers dialer Originates (not a test: prints figures).

One AMI client writes customer-first Originates (a seeded mix of outcomes, as fast as the
simulator plays: --speed 0) and measures, per Originate, the time from writing it to its
OriginateResponse and to the attempt tracker's outcome; then the Originates answered per second
with `--concurrency` in flight.

    .venv/bin/python scripts/bench_sim_dialer.py --calls 2000 --concurrency 20
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter

from common.dialer.outcomes import Order
from telephony.ami.frames import FrameReader, encode, parse_block
from telephony.dialer.attempts import AttemptTracker
from telephony.simulator import PbxSimulator
from telephony.simulator import dialer_outcomes as oc
from telephony.simulator.dialer import DialerFloor, DialerSettings

WEIGHTS = {oc.CONNECTED: 60, oc.NO_ANSWER: 15, oc.BUSY: 10, oc.NOT_FOUND: 5}
TIMEOUT = 30.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(calls: int, concurrency: int, agents: int) -> None:
    members = [f"PJSIP/{6001 + i}" for i in range(agents)]
    floor = DialerFloor(DialerSettings(members=members), oc.OutcomePicker(WEIGHTS, seed=1))
    sim = PbxSimulator(port=0, default_speed=0.0, dialer=floor)
    await sim.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    await reader.readline()
    writer.write(encode([("Action", "Login"), ("Username", "screenpop"),
                         ("Secret", "screenpop-demo"), ("Events", "on")]))
    tracker = AttemptTracker()
    sent_at: dict[str, float] = {}
    to_response: list[float] = []
    to_outcome: list[float] = []
    outcomes: Counter[str] = Counter()
    done = asyncio.Event()
    slots = asyncio.Semaphore(concurrency)

    async def read() -> None:
        frames = FrameReader()
        while len(to_outcome) < calls:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("the simulator closed the connection")
            now = time.perf_counter()
            for block in frames.feed(data):
                message = parse_block(block)[0]
                if message.get("Event") == "OriginateResponse":
                    to_response.append(now - sent_at[message["ActionID"]])
                for key, result in tracker.feed(message):
                    to_outcome.append(now - sent_at[key])
                    outcomes[result.outcome] += 1
                    slots.release()
        done.set()

    reading = asyncio.create_task(read())
    started = time.perf_counter()
    for i in range(calls):
        await slots.acquire()
        action_id = f"bench-{i}"
        tracker.expect(action_id, action_id=action_id, order=Order.CUSTOMER_FIRST,
                       channel_id=action_id)
        sent_at[action_id] = time.perf_counter()
        writer.write(encode([("Action", "Originate"), ("Channel", f"PJSIP/5215{i:09d}@trunk"),
                             ("Context", "dialer-connect"), ("Exten", "ventas"),
                             ("Priority", "1"), ("CallerID", '"Campana" <5550001000>'),
                             ("Variable", f"CAMPAIGN_ID=b1,PREINST_ID={i}"),
                             ("ChannelId", action_id), ("Async", "true"),
                             ("ActionID", action_id)]))
    await asyncio.wait_for(done.wait(), TIMEOUT + calls / 10)
    elapsed = time.perf_counter() - started
    await reading
    writer.close()
    await sim.stop()
    ms = 1000.0
    print(f"{calls} Originates, {concurrency} in flight, {agents} agents, speed 0")
    print(f"  answered per second: {calls / elapsed:,.0f}")
    print(f"  Originate → OriginateResponse: p50 {statistics.median(to_response) * ms:.2f} ms · "
          f"p99 {percentile(to_response, 99) * ms:.2f} ms")
    print(f"  Originate → tracker outcome:   p50 {statistics.median(to_outcome) * ms:.2f} ms · "
          f"p99 {percentile(to_outcome, 99) * ms:.2f} ms · max {max(to_outcome) * ms:.2f} ms")
    print("  outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--agents", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.concurrency, args.agents))


if __name__ == "__main__":
    main()
