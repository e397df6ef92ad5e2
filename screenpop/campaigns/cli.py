"""`python -m screenpop campaigns list|create|show|start|pause|resume|stop` and
`python -m screenpop dnc import|add|remove|list`: the campaign pages for an operator's shell.

Redis (the preinstallation index, the control channel) and PostgreSQL are found like the other
commands do: REDIS_URL/REDIS_PREFIX and DATABASE_URL, else the running demo's. Exit codes: 0 done,
1 Redis or PostgreSQL unreachable, 2 invalid arguments (the message names them), 3 no such
campaign or number, 4 the campaign's state does not allow that action.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from redis.exceptions import RedisError

from common import redisconn
from common.db.pool import LazyPool, create_pool
from common.demo_env import database_target, redis_target
from common.dialer.campaigns import STATE_LABELS, Action, TransitionError
from common.dialer.store import DialerStore
from common.dialer.windows import WEEKDAYS
from common.keys import Keys
from common.phones import to_e164
from screenpop.campaigns.dnc_routes import decode_csv
from screenpop.campaigns.form import MODE_LABELS, RETRY_OUTCOMES, blank_values, parse_form
from screenpop.campaigns.service import CampaignService
from screenpop.index import PreinstallationIndex
from screenpop.users import UserStore

REDIS_TIMEOUT = 5.0
MODES = {"preview": "preview", "vista-previa": "preview", "progressive": "progressive",
         "progresivo": "progressive", "predictive": "predictive", "predictivo": "predictive"}
ORDERS = {"agent_first": "agent_first", "agente": "agent_first",
          "customer_first": "customer_first", "cliente": "customer_first"}


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def add_parsers(commands) -> None:
    camp = commands.add_parser("campaigns", help="dialer campaigns").add_subparsers(
        dest="action", required=True)
    camp.add_parser("list", help="campaigns with state and progress")
    for name in ("show", "start", "pause", "resume", "stop"):
        camp.add_parser(name).add_argument("campaign_id")
    create = camp.add_parser("create", help="a campaign over the pending preinstallations")
    create.add_argument("--name", required=True)
    create.add_argument("--mode", default="progressive", choices=sorted(MODES))
    create.add_argument("--order", default="agent_first", choices=sorted(ORDERS))
    create.add_argument("--caller-id", default="")
    create.add_argument("--agent", action="append", default=[], help="agent account (repeat)")
    create.add_argument("--queue", default="")
    create.add_argument("--max-attempts", default="5")
    create.add_argument("--retry", action="append", default=[], metavar="OUTCOME=MINUTES",
                        help=f"retry delay; outcomes: {', '.join(map(str, RETRY_OUTCOMES))}")
    create.add_argument("--hours", action="append", default=[], metavar="DAY=HH:MM-HH:MM",
                        help=f"calling hours of a weekday ({', '.join(WEEKDAYS)}), or DAY=off")
    create.add_argument("--no-holidays", action="store_true", help="call on public holidays")
    create.add_argument("--closed-date", action="append", default=[], metavar="YYYY-MM-DD")
    create.add_argument("--amd", action="store_true", help="answering-machine detection")
    create.add_argument("--abandon-cap", default="3", help="percent over 30 days (default 3)")
    create.add_argument("--time-zone", default=None, help="IANA zone when a state is unknown")
    create.add_argument("--missing", action="append", default=[], metavar="DOCUMENT",
                        help="records missing this document: dni_front, dni_back, "
                             "proof_of_address (repeat: any of them)")
    create.add_argument("--zone", default="", help="WispHub zone (or state) of the records")
    create.add_argument("--min-age", default="", help="created at least N days ago")
    create.add_argument("--max-age", default="", help="created at most N days ago")
    create.add_argument("--never-contacted", action="store_true")
    create.add_argument("--last-disposition", default="")
    create.add_argument("--start", action="store_true", help="start it right away")
    create.add_argument("--count-only", action="store_true",
                        help="say how many records the filter picks, create nothing")
    dnc = commands.add_parser("dnc", help="the do-not-call list").add_subparsers(
        dest="action", required=True)
    dnc.add_parser("import", help="a CSV (REPEP export or a phone column)").add_argument("file")
    add = dnc.add_parser("add")
    add.add_argument("number")
    add.add_argument("--note", default=None)
    dnc.add_parser("remove").add_argument("number")
    listing = dnc.add_parser("list")
    listing.add_argument("--search", default="")
    listing.add_argument("--limit", type=int, default=100)


def form_fields(args: argparse.Namespace, default_zone: str) -> tuple[dict, dict]:
    """The command line as the campaign form's fields (so both share one validation)."""
    values = {k: v for k, v in blank_values(default_zone).items() if isinstance(v, str)}
    checks = {"holidays": not args.no_holidays, "amd": args.amd,
              "f_never": args.never_contacted}
    for day in WEEKDAYS:
        checks[f"open_{day}"] = bool(blank_values(default_zone)[f"open_{day}"])
    for item in args.hours:
        day, _, span = item.partition("=")
        day = day.strip().lower()[:3]
        if day not in WEEKDAYS or not span:
            raise CliError(f"--hours {item!r}: use DÍA=HH:MM-HH:MM con DÍA en "
                           f"{', '.join(WEEKDAYS)}, o DÍA=off", 2)
        if span.strip().lower() in ("off", "no", "cerrado"):
            checks[f"open_{day}"] = False
            continue
        start, _, end = span.partition("-")
        values[f"from_{day}"], values[f"to_{day}"] = start.strip(), end.strip()
        checks[f"open_{day}"] = True
    for item in args.retry:
        outcome, _, minutes = item.partition("=")
        if f"retry_{outcome}" not in values:
            raise CliError(f"--retry {item!r}: resultado desconocido (use "
                           f"{', '.join(map(str, RETRY_OUTCOMES))})", 2)
        values[f"retry_{outcome}"] = minutes
    values.update(name=args.name, mode=MODES[args.mode], call_order=ORDERS[args.order],
                  caller_id=args.caller_id, queue=args.queue, max_attempts=args.max_attempts,
                  abandon_cap=args.abandon_cap, time_zone=args.time_zone or default_zone,
                  closed_dates=", ".join(args.closed_date), f_zone=args.zone,
                  f_min_age=args.min_age, f_max_age=args.max_age,
                  f_disposition=args.last_disposition)
    values.update({k: "1" for k, v in checks.items() if v})
    return values, {"agents": args.agent, "f_missing": args.missing}


def read_csv(path: Path) -> str:
    try:
        return decode_csv(path.read_bytes())
    except OSError as exc:
        raise CliError(f"no se pudo leer {path}: {exc.strerror or exc}", 2) from None


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    redis_at, database_at = redis_target(env), database_target(env)
    try:
        if args.command == "dnc" and args.action == "import":
            args.text = read_csv(Path(args.file))
        code = asyncio.run(_run(args, env, redis_at, database_at.url))
    except CliError as exc:
        print(f"screenpop: {exc}", file=sys.stderr)
        return exc.code
    except (RedisError, OSError, TimeoutError, asyncpg.PostgresError,
            asyncpg.InterfaceError) as exc:
        print(f"screenpop: no se pudo usar {redis_at.describe()} o {database_at.describe()}: "
              f"{exc}. Inicie la demo (scripts/demo.sh) o fije REDIS_URL y DATABASE_URL.",
              file=sys.stderr)
        return 1
    print(f"screenpop: se usó {redis_at.describe()} y {database_at.describe()}",
          file=sys.stderr)
    return code


async def _run(args, env, redis_at, database_url: str) -> int:
    keys = Keys(redis_at.prefix)
    default_zone = env.get("TZ_NAME") or "America/Mexico_City"
    redis = redisconn.connect(redis_at.url, socket_timeout=REDIS_TIMEOUT)
    try:
        pool = await create_pool(database_url, min_size=1, max_size=2)
        try:
            service = CampaignService(pool, redis, keys, PreinstallationIndex(redis, keys),
                                      default_zone=default_zone)
            if args.command == "dnc":
                return await _dnc(args, DialerStore(pool, default_zone=default_zone), service)
            accounts = LazyPool(database_url, max_size=1)
            try:
                return await _campaigns(args, service, UserStore(accounts, redis, keys),
                                        default_zone)
            finally:
                await accounts.close()
        finally:
            await pool.close()
    finally:
        await redis.aclose()


async def _campaigns(args, service: CampaignService, users: UserStore, default_zone: str) -> int:
    now = datetime.now(UTC)
    if args.action == "list":
        for row in await service.book.list():
            p = await service.book.progress(row.campaign.campaign_id, now)
            print(f"{row.campaign.campaign_id}\t{row.state}\t{row.campaign.mode}\t"
                  f"{row.campaign.name}\ttotal {p.total} · pendientes {p.pending} · en curso "
                  f"{p.in_progress} · contactados {p.contacted} · activados {p.activated} · "
                  f"agotados {p.exhausted}")
        return 0
    if args.action == "create":
        single, multi = form_fields(args, default_zone)
        known = [u.username for u in await users.list() if u.role == "agent"]
        form = parse_form(single, multi, known_agents=known, default_zone=default_zone)
        if not form.ok:
            raise CliError("campaña no creada:\n" + "\n".join(
                f"  {name}: {message}" for name, message in form.errors.items()), 2)
        if args.count_only:
            picked = await service.candidates(form.record_filter, now)
            total = len(await service.pending_records())
            print(f"el filtro elige {len(picked)} de {total} preinstalaciones pendientes")
            return 0
        campaign, summary = await service.create(form, now)
        print(f"campaña creada: {campaign.campaign_id} ({campaign.name})")
        print(f"registros agregados: {summary.added} · ya estaban: {summary.already_there} · "
              f"bloqueados por no llamar: {summary.blocked_by_dnc} · teléfonos no válidos: "
              f"{len(summary.bad_phones)}")
        for rid, phone in summary.bad_phones:
            print(f"  teléfono no válido en la preinstalación {rid}: {phone!r}")
        if args.start:
            await service.change(campaign.campaign_id, Action.START)
            print(f"campaña {campaign.campaign_id}: {STATE_LABELS['running'].lower()}")
        return 0
    row = await service.get(args.campaign_id)
    if row is None:
        raise CliError(f"no existe la campaña {args.campaign_id!r} (vea «campaigns list»)", 3)
    if args.action == "show":
        c, p = row.campaign, await service.book.progress(args.campaign_id, now)
        rates = p.rates()
        print(f"{c.campaign_id}: {c.name}\nestado: {row.state_label}\nmodo: "
              f"{MODE_LABELS[c.mode]} · {c.call_order}\nasesores: {', '.join(c.agents) or '-'}"
              f"{' · cola ' + c.queue if c.queue else ''}\nintentos máximos: {c.max_attempts}")
        for name in ("total", *p.SEGMENTS, "attempts", "answered"):
            print(f"{name}: {getattr(p, name)}")
        for name, value in rates.items():
            print(f"{name}: {'-' if value is None else f'{100 * value:.1f} %'}")
        return 0
    try:
        state, changed = await service.change(args.campaign_id, Action(args.action))
    except TransitionError as exc:
        raise CliError(str(exc), 4) from None
    print(f"campaña {args.campaign_id}: {STATE_LABELS[state].lower()}"
          + ("" if changed else " (ya lo estaba)"))
    return 0


async def _dnc(args, store: DialerStore, service: CampaignService) -> int:
    if args.action == "import":
        report = await store.import_dnc_csv(args.text, source=f"import:{Path(args.file).name}",
                                            added_by="cli")
        print(f"agregados: {report.added} · ya estaban: {report.already_there} · repetidos en "
              f"el archivo: {report.repeated_in_file} · filas con error: "
              f"{len(report.bad_rows)} · registros de campañas bloqueados: "
              f"{report.leads_blocked}")
        for row in report.bad_rows:
            print(f"  línea {row.line}: {row.value!r}: {row.reason}")
        return 0
    if args.action == "list":
        page = await service.book.dnc_page(args.search, limit=max(1, min(args.limit, 10_000)))
        for e in page.entries:
            print(f"{e.phone}\t{e.source}\t{e.added_at:%Y-%m-%d}\t{e.note or ''}")
        print(f"{page.total} números en la lista", file=sys.stderr)
        return 0
    phone = to_e164(args.number)
    if phone is None:
        raise CliError(f"{args.number!r} no es un número telefónico válido", 2)
    if args.action == "add":
        report = await store.add_to_dnc([phone], source="manual", added_by="cli",
                                        note=args.note)
        print(f"{phone}: {'agregado' if report.added else 'ya estaba en la lista'}"
              f" · registros de campañas bloqueados: {report.leads_blocked}")
        return 0
    if not await store.remove_from_dnc(phone, datetime.now(UTC)):
        raise CliError(f"{phone} no estaba en la lista de no llamar", 3)
    print(f"{phone}: quitado de la lista de no llamar")
    return 0
