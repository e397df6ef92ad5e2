"""`python -m screenpop [serve]` runs the web service; `python -m screenpop users …` manages
accounts (needs DATABASE_URL, REDIS_URL and REDIS_PREFIX; without them, a running demo's);
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
from common.db.pool import LazyPool
from common.demo_env import DatabaseTarget, RedisTarget, database_target, redis_target
from common.keys import Keys
from common.process import freeze_startup_heap
from common.records.writer import records_database_url
from common.settings import ConfigError, environ
from screenpop.accounts_import import copy_redis_accounts
from screenpop.agents import AgentSettings
from screenpop.campaigns import cli as campaigns_cli
from screenpop.campaigns.pruning import CampaignLeadPruner
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.operations.settings import ActionSettings
from screenpop.qa.settings import QaSettings
from screenpop.script.provider import ProviderConfig, ProviderConfigError, load_provider_config
from screenpop.sync import IndexSync, rest_installations
from screenpop.users import ROLES, AccountError, AccountsUnavailable, UserStore
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
    users.add_parser("list", help="list accounts (disabled ones marked)")
    remove = users.add_parser("remove", help="delete an account")
    remove.add_argument("username")
    for action, text in (("disable", "keep the account but refuse its sign-in and ring nothing "
                                     "for it"), ("enable", "let a disabled account sign in again")):
        users.add_parser(action, help=text).add_argument("username")
    users.add_parser("migrate-from-redis",
                     help="copy the accounts an earlier version kept in Redis into PostgreSQL")
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
                         database_url=records_database_url(env), dispositions=dispositions))
    except (RedisError, OSError, TimeoutError) as exc:
        print(f"screenpop: no se pudo iniciar: {exc}", file=sys.stderr)
        return 1
    return 0


def run_users_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    redis_at, database_at = redis_target(env), database_target(env)
    try:
        code = asyncio.run(users_command(args, redis_at, database_at))
    except AccountError as exc:
        print(f"screenpop: {exc}", file=sys.stderr)
        return 2
    except AccountsUnavailable as exc:
        print(f"screenpop: no se pudo usar {database_at.describe()}: {exc}. Inicie PostgreSQL o "
              "la demo (scripts/demo.sh), o fije DATABASE_URL.", file=sys.stderr)
        return 1
    except (RedisError, OSError, TimeoutError) as exc:
        print(f"screenpop: no se pudo usar {redis_at.describe()}: {exc}. Inicie Redis o la demo "
              "(scripts/demo.sh), o fije REDIS_URL.", file=sys.stderr)
        return 1
    print(f"screenpop: se usó {database_at.describe()} y {redis_at.describe()}", file=sys.stderr)
    return code


async def users_command(args: argparse.Namespace, redis_at: RedisTarget,
                        database_at: DatabaseTarget) -> int:
    keys = Keys(redis_at.prefix)
    password = None
    if args.action == "add":
        password = args.password if args.password is not None else getpass.getpass("Contraseña: ")
    redis = redisconn.connect(redis_at.url, socket_timeout=REDIS_CONNECT_TIMEOUT)
    database = LazyPool(database_at.url, max_size=1)
    try:
        await asyncio.wait_for(redis.ping(), REDIS_CONNECT_TIMEOUT)
        store = UserStore(database, redis, keys)
        if args.action == "add":
            user = await store.add(args.username, password or "", args.role, args.endpoint,
                                   args.name)
            print(f"cuenta guardada: {user.username} ({user.role}) "
                  f"{', '.join(user.endpoints) or 'sin extensión'}")
        elif args.action == "list":
            for row in await store.accounts():
                print(f"{row.username}\t{row.role}\t{','.join(row.endpoints) or '-'}\t"
                      f"{row.display_name}{'' if row.active else chr(9) + 'desactivada'}")
        elif args.action == "migrate-from-redis":
            report = await copy_redis_accounts(redis, keys, store)
            print("\n".join(report.lines()))
        else:
            done = {"remove": lambda: store.remove(args.username),
                    "disable": lambda: store.set_active(args.username, False),
                    "enable": lambda: store.set_active(args.username, True)}[args.action]
            if not await done():
                print(f"screenpop: no existe la cuenta {args.username!r}", file=sys.stderr)
                return 1
            print({"remove": "cuenta eliminada", "disable": "cuenta desactivada",
                   "enable": "cuenta activada"}[args.action] + f": {args.username}")
        return 0
    finally:
        await database.close()
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
                         leads=CampaignLeadPruner(config.database_url))
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
