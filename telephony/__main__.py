"""`python -m telephony` / `telephony`: run the AMI listener service until SIGINT or SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import uvloop

from common import redisconn
from common.process import freeze_startup_heap
from common.records.writer import call_records_on
from common.settings import ConfigError
from telephony.config import TelephonyConfig
from telephony.service import create_service

REDIS_SOCKET_TIMEOUT = 2.0


async def serve(config: TelephonyConfig) -> None:
    redis = redisconn.connect(config.redis_url, socket_timeout=REDIS_SOCKET_TIMEOUT)
    service = create_service(config, redis=redis,
                             database_url=os.environ.get("DATABASE_URL", "").strip() or None,
                             call_records=call_records_on(os.environ))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await service.start()
        freeze_startup_heap()
        await stop.wait()
    finally:
        await service.stop()
        await redis.aclose()


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = TelephonyConfig.from_env(os.environ)
    except ConfigError as exc:
        print(f"telephony: configuración inválida: {exc}", file=sys.stderr)
        sys.exit(2)
    uvloop.run(serve(config))


if __name__ == "__main__":
    main()
