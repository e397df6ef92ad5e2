"""Everything the code and the dialplan rely on exists in asterisk-config/: contexts and
extensions (the dialer's recorded Originates, the endpoints' contexts), queues, music on hold,
sounds, endpoints, codecs with a module behind them, the AMI user the service logs in as."""
from __future__ import annotations

import ipaddress
import re

import pytest

from telephony.ami.frames import iter_messages
from telephony.channels import EndpointMatcher
from telephony.config import DEFAULT_AGENT_PATTERNS, TelephonyConfig
from tests.asterisk.conf import (
    CONFIG_DIR,
    HERE,
    concrete,
    dialplan,
    extensions,
    globals_,
    routes,
    section,
)

DIALER_FIXTURES = HERE / "dialer"
CORE_SOUNDS = {line for line in (HERE / "core-sounds-es.txt").read_text().splitlines()
               if line and not line.startswith("#")}
# codec name in `allow` → the module that must be loaded for Asterisk to offer/transcode it
CODEC_MODULES = {"ulaw": "codec_ulaw.so", "alaw": "codec_alaw.so", "g722": "codec_g722.so",
                 "gsm": "codec_gsm.so", "opus": "codec_opus.so"}
DEFAULTS = TelephonyConfig()


def expand(text: str) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: globals_().get(m.group(1), m.group(0)), text)


def queues_used() -> set[str]:
    used = set()
    for step in dialplan():
        if step.app == "Queue" and step.context != "queue-call":  # queue-call queues its ARG1
            used.add(step.data.split(",")[0])
        if step.app == "Gosub" and step.data.startswith("queue-call,"):
            used.add(re.search(r"\((\w+)\)", step.data).group(1))
    return used


def sounds_used() -> set[str]:
    used = {step.data.split(",")[0] for step in dialplan() if step.app in ("Playback", "Background")}
    for queue in concrete("queues.conf"):
        for announce in queue.all("periodic-announce"):
            used.update(announce.split(","))
    return {expand(sound) for sound in used}


# --- contexts and extensions ------------------------------------------------------------------
def originates(name: str) -> list[dict[str, str]]:
    sent = (DIALER_FIXTURES / f"{name}.sent.txt").read_text()
    blocks = re.sub(r"^### .*\n", "", sent, flags=re.MULTILINE).replace("\n", "\r\n")
    return [m for m in iter_messages(blocks.encode()) if m.get("Action") == "Originate"]


@pytest.mark.parametrize("fixture", ["agent-first", "customer-first", "amd-human", "amd-machine",
                                     "customer-busy", "customer-noanswer"])
def test_every_recorded_dialer_originate_lands_in_an_existing_extension(fixture):
    actions = originates(fixture)
    assert actions
    for action in actions:
        assert routes(action["Context"], action["Exten"]), (action["Context"], action["Exten"])


def test_the_dialer_contexts_do_what_the_dialer_expects():
    dialer = [s for s in dialplan() if s.context == "dialer"]
    assert any(s.app == "Dial" and "@trunk" in s.data for s in dialer)  # agent first
    connect = {s.exten: s for s in dialplan() if s.context == "dialer-connect" and s.app == "Gosub"}
    assert set(connect) == {"ventas", "amd"}                              # customer first, AMD
    assert any(s.app == "AMD" for s in dialplan() if s.context == "dialer-connect")


def test_every_endpoint_context_exists():
    contexts = {s.context for s in dialplan()}
    for endpoint in concrete("pjsip.conf", type="endpoint"):
        assert endpoint.get("context") in contexts, endpoint.name


def test_agents_calls_and_direct_dial_in_are_routed():
    assert routes("agents-out", "5512345678") and routes("agents-out", "525512345678")
    assert routes("agents-out", "6002")
    assert routes("from-pstn", "5550006001") and routes("from-pstn", "5550001000")


# --- queues and music on hold -----------------------------------------------------------------
def test_every_queue_the_dialplan_uses_exists_with_members_and_music():
    classes = {s.name for s in concrete("musiconhold.conf") if s.name != "general"}
    used = queues_used()
    assert used == {"ventas", "soporte", "pagos"}
    for name in used:
        queue = section("queues.conf", name)
        assert queue.all("member"), name
        assert queue.get("musicclass", "default") in classes
        # no caller joins, or stays in, a queue where no agent could answer
        assert set(queue.get("joinempty", "").split(",")) >= {"unavailable", "invalid", "paused"}
        assert set(queue.get("leavewhenempty", "").split(",")) >= {"unavailable", "invalid"}


def test_music_on_hold_plays_files():
    default = section("musiconhold.conf", "default")
    assert default.get("mode") == "files" and default.get("directory")


def test_callers_are_not_cut_off_after_two_minutes_and_hear_why_when_no_agent_answers():
    assert int(globals_()["QUEUE_MAX_WAIT"]) > 120
    queue_call = [s for s in dialplan() if s.context == "queue-call"]
    assert any(s.app == "Queue" and s.data.endswith("${QUEUE_MAX_WAIT}") for s in queue_call)
    assert any(s.app == "Playback" and "sin-asesores" in s.data for s in queue_call)


# --- sounds and language ----------------------------------------------------------------------
def test_every_sound_played_exists():
    prompts = expand("${PROMPTS}") + "/"
    for sound in sounds_used():
        if sound.startswith(prompts):
            assert (CONFIG_DIR / "sounds" / "es" / f"{sound.removeprefix(prompts)}.gsm").is_file(), sound
        else:
            assert sound in CORE_SOUNDS, sound


def test_the_prompts_folder_is_where_the_deployment_mounts_asterisk_config():
    assert expand("${PROMPTS}") == "/etc/asterisk/sounds/es"


def test_every_shipped_prompt_is_played_and_has_its_words_written_down():
    shipped = {p.stem for p in (CONFIG_DIR / "sounds" / "es").glob("*.gsm")}
    words = {line.split(":", 1)[0] for line in
             (CONFIG_DIR / "sounds" / "es" / "prompts.txt").read_text().splitlines()
             if line and not line.startswith("#")}
    played = {s.rsplit("/", 1)[-1] for s in sounds_used() if s.startswith("/etc/asterisk/")}
    assert shipped == words == played


def test_spanish_everywhere():
    assert section("asterisk.conf", "options").get("defaultlanguage") == "es"
    for endpoint in concrete("pjsip.conf", type="endpoint"):
        assert endpoint.get("language") == "es", endpoint.name
    assert "option-is-invalid" not in sounds_used()


# --- endpoints and codecs ---------------------------------------------------------------------
def test_every_endpoint_the_dialplan_and_queues_dial_exists():
    endpoints = {s.name for s in concrete("pjsip.conf", type="endpoint")}
    dialled = set()
    for step in dialplan():
        if step.app == "Dial":
            target = step.data.split(",")[0]
            dialled.add(target.split("@", 1)[1] if "@" in target else target.removeprefix("PJSIP/"))
    for queue in queues_used():
        dialled.update(m.split(",")[0].removeprefix("PJSIP/")
                       for m in section("queues.conf", queue).all("member"))
    for name in dialled:
        if "${EXTEN" in name:  # PJSIP/${EXTEN} from a _60XX extension: the agents 60NN
            assert {"6001", "6002", "6003"} <= endpoints
        else:
            assert name in endpoints, name


def test_every_offered_codec_has_its_module_loaded():
    modules = section("modules.conf", "modules")
    loaded = set(modules.all("require"))
    for endpoint in concrete("pjsip.conf", type="endpoint"):
        for codec in endpoint.get("allow").split(","):
            assert CODEC_MODULES[codec] in loaded, (endpoint.name, codec)
    assert "opus" not in section("pjsip.conf", "6001", type="endpoint").get("allow")


def test_the_trunk_is_identified_by_address_not_hostname():
    identify = section("pjsip.conf", "trunk", type="identify")
    assert identify.get("endpoint") == "trunk"
    for match in identify.all("match"):
        ipaddress.ip_network(match, strict=False)  # raises for a hostname


def test_the_trunk_is_not_taken_for_an_agent_and_the_agents_are():
    matcher = EndpointMatcher(DEFAULT_AGENT_PATTERNS)
    assert matcher.endpoint_of("PJSIP/trunk-0000002a") is None
    for agent in ("6001", "6002", "6003"):
        assert matcher.endpoint_of(f"PJSIP/{agent}-0000002b") == f"PJSIP/{agent}"


def test_rtp_uses_a_small_port_range():
    rtp = section("rtp.conf", "general")
    start, end = int(rtp.get("rtpstart")), int(rtp.get("rtpend"))
    assert 10000 <= start < end and end - start + 1 <= 1000


# --- AMI and FastAGI --------------------------------------------------------------------------
def test_ami_listens_on_loopback_only():
    general = section("manager.conf", "general")
    assert general.get("bindaddr") == "127.0.0.1"
    assert int(general.get("port")) == DEFAULTS.ami_port


def test_writetimeout_belongs_to_the_user_not_general():
    assert section("manager.conf", "general").get("writetimeout") is None
    assert int(section("manager.conf", DEFAULTS.ami_username).get("writetimeout")) >= 100


def test_the_ami_user_is_the_services_default_with_least_privilege():
    user = section("manager.conf", DEFAULTS.ami_username)
    assert user.get("secret") == DEFAULTS.ami_secret
    assert user.all("deny") == ["0.0.0.0/0.0.0.0"]
    assert user.all("permit") == ["127.0.0.1/255.255.255.255"]
    read, write = set(user.get("read").split(",")), set(user.get("write").split(","))
    assert set(DEFAULTS.ami_events.split(",")) <= read == {"system", "call", "agent", "user"}
    assert write == {"originate", "call", "reporting"}  # never system/command/config


def test_channel_variables_start_with_the_one_the_tracker_reads_first():
    # the AMI frame parser keeps the first ChanVariable header; the tracker reads CAMPAIGN_ID there
    channelvars = section("manager.conf", "general").get("channelvars").split(",")
    assert channelvars[0] == "CAMPAIGN_ID" and "PREINST_ID" in channelvars


def test_a_waiting_caller_can_ask_for_a_callback():
    for queue in queues_used():
        assert section("queues.conf", queue).get("context") == "queue-exit"
    assert "1" in extensions("queue-exit")
    assert any(s.app == "Set" and s.data.startswith("SP_QUEUE=") for s in dialplan()
               if s.context == "queue-call")


def test_the_ivr_calls_the_services_fastagi_scripts():
    assert globals_()["AGI_SERVER"] == f"{DEFAULTS.agi_host}:{DEFAULTS.agi_port}"
    agi = [s for s in dialplan() if s.app == "AGI"]
    assert [s.data.split("?")[0] for s in agi] == ["agi://${AGI_SERVER}/lookup",
                                                   "agi://${AGI_SERVER}/callback",
                                                   "agi://${AGI_SERVER}/callback"]
    assert [s.context for s in agi] == ["ivr", "ivr-closed", "queue-exit"]
    assert "s" in extensions("ivr")


def test_a_caller_the_lookup_found_gets_the_pending_priority_from_the_dialplan():
    steps = [s for s in dialplan() if s.context == "ivr"]
    agi = next(i for i, s in enumerate(steps) if s.app == "AGI" and "/lookup?" in s.data)
    skip, raise_prio = steps[agi + 1], steps[agi + 2]
    assert skip.app == "GotoIf" and '"${SP_MATCH}" != "one"' in skip.data \
        and '"${SP_MATCH}" != "many"' in skip.data
    assert (raise_prio.app, raise_prio.data) == ("Set", "QUEUE_PRIO=${PENDING_PRIO}")
    assert globals_()["PENDING_PRIO"] == "10"
    assert any(s.app == "Set" and s.data == "QUEUE_PRIO=0" for s in steps[:agi])  # the default


def test_the_callback_request_carries_what_the_callback_script_reads():
    from urllib.parse import parse_qs

    from telephony.ivr.callback import callback_request

    closed, waiting = [s for s in dialplan() if s.app == "AGI" and "/callback?" in s.data]
    query = {key: values[0] for key, values in parse_qs(waiting.data.split("?", 1)[1]).items()}
    assert query == {"queue": "${SP_QUEUE}", "entered": "${QUEUE_ENTERED}",
                     "preinst": "${SP_PREINST_ID}", "call": "${CHANNEL(linkedid)}"}
    # after hours the place in line is when the caller called; the callback goes to ventas
    query = {key: values[0] for key, values in parse_qs(closed.data.split("?", 1)[1],
                                                        keep_blank_values=True).items()}
    assert query == {"queue": "ventas", "entered": "${IVR_STARTED}",
                     "preinst": "${SP_PREINST_ID}", "call": "${CHANNEL(linkedid)}"}
    # the same request as Asterisk expands it is accepted
    expanded = {"queue": "ventas", "entered": "1796155700", "preinst": "1001",
                "call": "1796155799.1"}
    queue, place, _ = callback_request({"agi_callerid": "5215512345678"}, expanded, 1796155800)
    assert (queue, place) == ("ventas", 1796155700.0)
