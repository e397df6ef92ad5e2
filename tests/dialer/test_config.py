"""The dialer's settings from the environment."""
from __future__ import annotations

import pytest

from common.settings import ConfigError
from telephony.config import TelephonyConfig


def test_defaults_and_the_worker_named_after_the_node() -> None:
    config = TelephonyConfig.from_env({"TELEPHONY_NODE": "pbx-norte"})
    assert config.dialer_enabled and config.dialer_name == "pbx-norte"
    assert config.dialer_trunk == "PJSIP/{number}@trunk"
    assert (config.dialer_lease_seconds, config.dialer_offer_seconds,
            config.dialer_abandon_cap) == (60.0, 120.0, 0.03)


def test_explicit_values() -> None:
    config = TelephonyConfig.from_env({
        "DIALER_ENABLED": "off", "DIALER_WORKER": "marcador-2",
        "DIALER_TRUNK": "SIP/carrier/{number}", "DIALER_ABANDON_CAP": "0.02"})
    assert not config.dialer_enabled and config.dialer_name == "marcador-2"
    assert config.dialer_trunk == "SIP/carrier/{number}" and config.dialer_abandon_cap == 0.02


@pytest.mark.parametrize("env, name", [
    ({"DIALER_TRUNK": "PJSIP/trunk"}, "DIALER_TRUNK"),
    ({"DIALER_ENABLED": "quizá"}, "DIALER_ENABLED"),
    ({"DIALER_ABANDON_CAP": "3"}, "DIALER_ABANDON_CAP"),
])
def test_bad_values_name_the_variable(env, name) -> None:
    with pytest.raises(ConfigError, match=name):
        TelephonyConfig.from_env(env)
