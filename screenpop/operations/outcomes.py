"""What a failed attempt means for the agent: next state, WispHub's reason, what to do (pure)."""
from __future__ import annotations

import re

from screenpop.operations.model import FAILED, PENDING, UNKNOWN, Outcome
from screenpop.wisphub.activation import ActivationNotPossible
from screenpop.wisphub.errors import (
    PanelLoginError,
    WispHubAuthError,
    WispHubChallenge,
    WispHubRateLimited,
    WispHubUnavailable,
)
from screenpop.wisphub.panel_forms import PanelFormChanged
from screenpop.wisphub.write_errors import WriteOutcomeUnknown, WriteRejected

HINT_DOWN = "WispHub no responde; se reintentará solo. Lo capturado no se pierde."
HINT_UNKNOWN = "Se comprobará en WispHub si quedó hecho antes de volver a enviarlo."
HINT_FORM = ("Avise a sistemas para actualizar la automatización; mientras, haga este paso "
             "directamente en WispHub.")
HINT_REJECTED = "Corrija el dato en el guion de la llamada y pulse Reintentar."
HINT_ACCESS = "Pida a sistemas revisar el usuario del panel de WispHub y pulse Reintentar."
HINT_OTHER = "Revise el registro en WispHub y pulse Reintentar."


_INTERNALS = [
    (re.compile(r"\s*\([^()]*/[^()]*\)"), ""),                                 # "(/path)", "(GET /api/x)"
    (re.compile(r"\s+en\s+(?:panel\s+)?(?:GET|POST|PUT|PATCH|DELETE)\s+/[^\s:;,]*"), ""),
    (re.compile(r"\b(?:panel\s+)?(?:GET|POST|PUT|PATCH|DELETE)\s+/[^\s:;,]*"), "la petición"),
    (re.compile(r"(?<![\w<])/[\w@.%?=&\-]+(?:/[\w@.%?=&\-]*)*"), "una página del panel"),
    (re.compile(r"\b(?:usr|perfil|cliente)-[a-z_0-9]+\b"), "un campo"),            # field ids
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), ""),  # task ids
]


def agent_text(exc: BaseException) -> str:
    """Our messages are "español / English": the agent sees the Spanish half, without the
    WispHub internals it may name (paths, field ids, task ids) — those stay in the log."""
    text = str(exc).split(" / ")[0].strip()
    for pattern, replacement in _INTERNALS:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\s+([,;:.])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    return text or "WispHub no pudo hacerlo"


def classify(exc: BaseException) -> Outcome:
    reason = agent_text(exc)
    if isinstance(exc, WriteOutcomeUnknown):
        return Outcome(UNKNOWN, reason=reason, hint=HINT_UNKNOWN)
    if isinstance(exc, (WispHubUnavailable, WispHubRateLimited, WispHubChallenge)):
        return Outcome(PENDING, reason=reason, hint=HINT_DOWN)
    if isinstance(exc, PanelFormChanged):
        return Outcome(FAILED, reason=reason, hint=HINT_FORM)
    if isinstance(exc, ActivationNotPossible):
        return Outcome(FAILED, reason=reason, hint="Resuélvalo en WispHub y pulse Reintentar.")
    if isinstance(exc, WriteRejected):
        return Outcome(FAILED, reason=reason, hint=HINT_REJECTED)
    if isinstance(exc, (PanelLoginError, WispHubAuthError)):
        return Outcome(FAILED, reason=reason, hint=HINT_ACCESS)
    return Outcome(FAILED, reason=reason, hint=HINT_OTHER)
