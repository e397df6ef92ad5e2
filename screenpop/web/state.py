"""Typed keys of everything the web app holds (no module-level state)."""
from __future__ import annotations

import jinja2
from aiohttp import web

from common.keys import Keys
from screenpop.agents import AgentSettings, AgentStateStore
from screenpop.calls.access import CallAccess
from screenpop.calls.record import CallRecords
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.preview.offers import PreviewOffers
from screenpop.push.acks import AckTracker
from screenpop.push.bus import CallBus
from screenpop.push.hub import Hub
from screenpop.push.router import PopRouter
from screenpop.users import UserStore
from screenpop.web.metrics import Metrics
from screenpop.web.sessions import SessionStore

CONFIG = web.AppKey("config", ScreenpopConfig)
KEYS = web.AppKey("keys", Keys)
REDIS = web.AppKey("redis", object)
INDEX = web.AppKey("index", PreinstallationIndex)
GATEWAY = web.AppKey("gateway", object)
USERS = web.AppKey("users", UserStore)
SESSIONS = web.AppKey("sessions", SessionStore)
HUB = web.AppKey("hub", Hub)
ROUTER = web.AppKey("router", PopRouter)
BUS = web.AppKey("bus", CallBus)
METRICS = web.AppKey("metrics", Metrics)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
AGENT_STATES = web.AppKey("agent_states", AgentStateStore)
AGENT_SETTINGS = web.AppKey("agent_settings", AgentSettings)
ACKS = web.AppKey("acks", AckTracker)
PROVIDER = web.AppKey("provider", object)
PROGRESS = web.AppKey("progress", object)
CALL_ACCESS = web.AppKey("call_access", CallAccess)
CALL_RECORDS = web.AppKey("call_records", CallRecords)
PREVIEW = web.AppKey("preview_offers", PreviewOffers)
