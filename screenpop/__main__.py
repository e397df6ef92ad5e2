"""`python -m screenpop [serve]` runs the web service; `python -m screenpop users …` manages
accounts (needs only REDIS_URL and REDIS_PREFIX; without them, a running demo's Redis);
`campaigns …` and `dnc …` run the dialer's campaigns and do-not-call list (screenpop.campaigns.cli)."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Mapping, Sequence

import uvloop
from aiohttp import web
from redis.exceptions import RedisError

from common import redisconn
from common.db import commands as db_commands
from common.demo_env import RedisTarget, database_target, redis_target
from common.keys import Keys
from common.process import freeze_startup_heap
from common.settings import ConfigError, environ
from screenpop.agents import AgentSettings
from screenpop.campaigns import cli as campaigns_cli
from screenpop.campaigns.pruning import CampaignLeadPruner
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.operations.settings import ActionSettings
from screenpop.qa.settings import QaSettings
from screenpop.script.provider import ProviderConfig, ProviderConfigError, load_provider_config
from screenpop.sync import IndexSync, rest_installations
from screenpop.users import ROLES, AccountError, UserStore
from screenpop.web.app import create_app
from screenpop.wisphub.gateway import create_gateway
from screenpop.wrapup.settings import DispositionSettings

log = logging.getLogger("screenpop")

REDIS_CONNECT_TIMEOUT = 5.0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="screenpop", description="Screen-pop web service")
    commands = top.add_subparsers(dest="command")
    commands.add_parser("serve", help="start the web service (default)")
    users = commands.add_parser("users", help="manage agent accounts").add_subparsers(
        dest="action", required=True)
    add = users.add_parser("add", help="create or replace an account")
    add.add_argument("username")
    add.add_argument("--password", help="omit to type it without echo")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--endpoint", action="append", default=[], metavar="TECH/RESOURCE",
                     help="phone endpoint that rings for this user, e.g. PJSIP/6001 (repeatable)")
    add.add_argument("--name", default="", help="name shown on screen")
    users.add_parser("list", help="list accounts")
    remove = users.add_parser("remove", help="delete an account")
    remove.add_argument("username")
    db = commands.add_parser("db", help="the PostgreSQL schema (DATABASE_URL)")
    db.add_argument("action", choices=("migrate", "status"))
    campaigns_cli.add_parsers(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    env = environ()
    if args.command == "users":
        return run_users_command(args, env)
    if args.command in ("campaigns", "dnc"):
        return campaigns_cli.run(args, env)
    if args.command == "db":
        code, lines = asyncio.run(db_commands.run(args.action, database_target(env)))
        print("\n".join(f"screenpop: {line}" for line in lines), file=sys.stderr if code else sys.stdout)
        return code
    try:
        config = ScreenpopConfig.from_env(env)
        agent_settings = AgentSettings.from_env(env)
        action_settings = ActionSettings.from_env(env)
        provider = load_provider_config(config.provider_config)
        qa = QaSettings.from_env(env)
        dispositions = DispositionSettings.from_env(env)
    except ProviderConfigError as exc:
        print(f"screenpop: configuración del proveedor inválida (PROVIDER_CONFIG="
              f"{config.provider_config}): {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"screenpop: configuración inválida: {exc}", file=sys.stderr)
        return 2
    try:
        uvloop.run(serve(config, agent_settings, action_settings, provider, qa,
                         database_url=env.get("DATABASE_URL"), dispositions=dispositions))
    except (RedisError, OSError, TimeoutError) as exc:
        print(f"screenpop: no se pudo iniciar: {exc}", file=sys.stderr)
        return 1
    return 0


def run_users_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    target = redis_target(env)
    try:
        code = asyncio.run(users_command(args, target))
    except AccountError as exc:
        print(f"screenpop: {exc}", file=sys.stderr)
        return 2
    except (RedisError, OSError, TimeoutError) as exc:
        print(f"screenpop: no se pudo usar {target.describe()}: {exc}. Inicie Redis o la demo "
              "(scripts/demo.sh), o fije REDIS_URL.", file=sys.stderr)
        return 1
    print(f"screenpop: se usó {target.describe()}", file=sys.stderr)
    return code


async def users_command(args: argparse.Namespace, target: RedisTarget) -> int:
    keys = Keys(target.prefix)
    password = None
    if args.action == "add":
        password = args.password if args.password is not None else getpass.getpass("Contraseña: ")
    redis = redisconn.connect(target.url, socket_timeout=REDIS_CONNECT_TIMEOUT)
    try:
        store = UserStore(redis, keys)
        if args.action == "add":
            user = await store.add(args.username, password or "", args.role, args.endpoint,
                                   args.name)
            print(f"cuenta guardada: {user.username} ({user.role}) "
                  f"{', '.join(user.endpoints) or 'sin extensión'}")
        elif args.action == "list":
            for user in await store.list():
                print(f"{user.username}\t{user.role}\t{','.join(user.endpoints) or '-'}\t"
                      f"{user.display_name}")
        elif not await store.remove(args.username):
            print(f"screenpop: no existe la cuenta {args.username!r}", file=sys.stderr)
            return 1
        else:
            print(f"cuenta eliminada: {args.username}")
        return 0
    finally:
        await redis.aclose()


async def serve(config: ScreenpopConfig, agent_settings: AgentSettings,
                action_settings: ActionSettings, provider: ProviderConfig,
                qa: QaSettings | None = None, *, database_url: str | None = None,
                dispositions: DispositionSettings | None = None) -> None:
    log.info("screenpop starting %s", config.describe())
    redis = redisconn.connect(config.redis_url)
    gateway = create_gateway(config)
    try:
        await asyncio.wait_for(redis.ping(), REDIS_CONNECT_TIMEOUT)
        index = PreinstallationIndex(redis, Keys(config.redis_prefix))
        sync = IndexSync(gateway, index, config.sync_interval,
                         installations=rest_installations(gateway.rest),
                         leads=CampaignLeadPruner(database_url) if database_url else None)
        app = create_app(config, redis=redis, index=index, gateway=gateway, sync=sync,
                         agent_settings=agent_settings, provider=provider,
                         action_settings=action_settings, qa=qa, database_url=database_url,
                         dispositions=dispositions)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=5.0)
        await runner.setup()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await web.TCPSite(runner, config.host, config.port).start()
            log.info("screenpop listening on http://%s:%d", config.host, config.port)
            freeze_startup_heap()
            await stop.wait()
            log.info("screenpop stopping")
        finally:
            await runner.cleanup()
    finally:
        await gateway.aclose()
        await redis.aclose()


if __name__ == "__main__":
    sys.exit(main())
