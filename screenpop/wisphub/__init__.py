"""WispHub read side: REST client, staff-panel client, and the gateway in front of both."""
from screenpop.wisphub.errors import (
                                      PanelLayoutError,
                                      PanelLoginError,
                                      WispHubApiError,
                                      WispHubAuthError,
                                      WispHubBadResponse,
                                      WispHubChallenge,
                                      WispHubError,
                                      WispHubRateLimited,
                                      WispHubUnavailable,
)
from screenpop.wisphub.gateway import PanelGateway, WispHubGateway, create_gateway
from screenpop.wisphub.models import Preinstallation

__all__ = ["PanelGateway", "PanelLayoutError", "PanelLoginError", "Preinstallation",
           "WispHubApiError", "WispHubAuthError", "WispHubBadResponse", "WispHubChallenge",
           "WispHubError", "WispHubGateway", "WispHubRateLimited", "WispHubUnavailable",
           "create_gateway"]
