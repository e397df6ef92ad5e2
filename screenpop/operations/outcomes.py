"""What a failed attempt means for the agent: next state, WispHub's reason, what to do (pure)."""
from __future__ import annotations

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


def _spanish(exc: BaseException) -> str:
    """Our messages are "español / English": the agent sees the Spanish half."""
    return str(exc).split(" / ")[0].strip() or exc.__class__.__name__


def classify(exc: BaseException) -> Outcome:
    reason = _spanish(exc)
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
