"""Rendering every step of the guided call for matched, several-matched and unmatched customers."""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from screenpop.script.steps import STEP_IDS, render_script
from screenpop.script.work import CallWork
from screenpop.wisphub.models import Preinstallation

NOW = datetime(2025, 11, 12, 16, 30, tzinfo=UTC)   # 10:30 in Mexico City, promotion on


def record(id_: str, name: str, missing: tuple[str, ...], **extra) -> Preinstallation:
    fields = {"username": None, "phones": ("+525512345678",), "phone_raw": "55 1234 5678",
              "email": "cliente@example.mx", "address": "Av. Juárez 10, Centro", "zone": "Centro",
              "created_at": None, "activation_path": None, **extra}
    return Preinstallation(id=id_, name=name, missing=missing, **fields)


MATCHED = record("101", "Laura Méndez Ruiz",
                 ("dni_front", "dni_back", "proof_of_address", "referral", "housing", "location"))
# two preinstallations share the caller's number; the agent chose the second
SEVERAL = [record("201", "Jorge Salas", ("email",), email=None),
           record("202", "Rosa Salas", ("dni_back",),
                  phones=("+525512345678", "+525587654321"))]
CUSTOMERS = {"matched": MATCHED, "several-matched": SEVERAL[1], "unmatched": None}

FULL = {"address": "Av. Juárez 10, Centro", "zone": "centro", "coverage": True,
        "technology": "fiber", "wants_to_continue": True, "usage_profile": "alto",
        "plan_id": "fibra-300", "addons": ["tv"], "contract": "12m",
        "objections_raised": ["precio"], "first_name": "Laura", "last_name": "Méndez",
        "email": "laura@example.mx", "extra_phone": "+525511112222", "referral": "Facebook",
        "housing": "rented", "location_url": "https://maps.app.goo.gl/abc",
        "building": True,
        "rooftop_access": False, "outlet_near": True, "install_date": "2025-11-14",
        "install_window": "tarde"}


@dataclass(frozen=True)
class Op:
    """An operation of the write-back as CallWork reads it (screenpop.operations.model)."""
    kind: str
    state: str = "done"
    label: str = ""
    params: dict = dataclasses.field(default_factory=dict)
    reference: str = ""


EVERYTHING_DONE = CallWork.from_operations([
    Op("activation", reference="Instalación 101"),
    *(Op("document", params={"doc_kind": kind}) for kind in ("dni_front", "dni_back",
                                                              "proof_of_address")),
    Op("data"), Op("service", label="TV (80 canales)"), Op("service", label="Garantía")])


def render(config, customer, answers, work=None, direction="inbound"):
    script = render_script(config, record=CUSTOMERS[customer], agent_name="Ana Torres",
                           answers=answers, now=NOW, direction=direction,
                           **({"work": work} if work else {}))
    json.dumps(script)   # JSON-ready
    return script, {s["id"]: s for s in script["steps"]}


@pytest.mark.parametrize("customer", CUSTOMERS)
@pytest.mark.parametrize("answers", [{}, FULL], ids=["start", "full"])
def test_every_step_renders(config, customer, answers):
    script, steps = render(config, customer, answers)
    assert [s["id"] for s in script["steps"]] == list(STEP_IDS)
    assert [s["number"] for s in script["steps"]] == list(range(1, 11))
    assert [s["title"] for s in script["steps"]] == [
        "Saludo", "Cobertura", "Costos y planes", "Contrato", "Objeciones", "Datos y documentos",
        "Condiciones especiales", "Depósito y totales", "Servicios y verificación", "Cierre"]
    for step in script["steps"]:
        assert step["say"] and all(line.strip() for line in step["say"]), step["id"]
        assert not any("texto no disponible" in line for line in step["say"])
        for field in step["fields"]:
            assert set(field) == {"key", "label", "kind", "choices", "value", "source",
                                  "present_in_wisphub"}
    assert [o["key"] for o in script["objections"]] == ["1", "2", "3", "4", "5"]
    assert {c["key"] for c in script["checklist"]} == {
        "coverage", "activation", "plan", "addons", "contract", "customer_data", "documents",
        "services", "installation"}


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_start_of_call_locks_everything_after_coverage(config, customer):
    script, steps = render(config, customer, {})
    assert [s["locked"] for s in script["steps"]] == [False, False] + [True] * 8
    assert steps["planes"]["lock_reason"] == (
        "Se desbloquea al confirmar la cobertura y que el cliente desea continuar.")
    assert steps["planes"]["hints"] == ["Elija el tipo de servicio en Cobertura para ver los planes."]
    assert script["plans"] == [] and script["recommended_plan"] is None
    assert script["quote"]["due_today"] is None
    assert steps["deposito"]["say"][0] == ("Con contrato a 12 meses el pago inicial es de "
                                           "$2,000.00 MXN; con contrato indefinido es de $1,200.00 MXN.")


@pytest.mark.parametrize(("answers", "reason"), [
    ({"coverage": True}, "Se desbloquea al confirmar la cobertura y que el cliente desea continuar."),
    ({"wants_to_continue": True}, "Se desbloquea al confirmar la cobertura y que el cliente desea continuar."),
    ({"coverage": False, "wants_to_continue": True}, "Sin cobertura en la zona del cliente."),
    ({"coverage": True, "wants_to_continue": False}, "El cliente no desea continuar."),
])
def test_locked_until_coverage_and_the_customer_wants_to_continue(config, answers, reason):
    script, steps = render(config, "matched", answers)
    assert steps["contrato"]["locked"] and steps["contrato"]["lock_reason"] == reason
    # a "no" opens the closing so the agent can end the call politely
    closing_open = answers.get("coverage") is False or answers.get("wants_to_continue") is False
    assert steps["cierre"]["locked"] is not closing_open
    unlocked, _ = render(config, "matched", {"coverage": True, "wants_to_continue": True})
    assert not any(s["locked"] for s in unlocked["steps"])


def test_no_coverage_says_so_and_points_to_the_closing(config):
    _, steps = render(config, "unmatched", {"zone": "sierra-alta", "coverage": False})
    assert "no tenemos cobertura en Sierra Alta (sin cobertura)" in steps["cobertura"]["say"][1]
    assert steps["cobertura"]["hints"] == ["La zona Sierra Alta (sin cobertura) no tiene cobertura.",
                                           "Agradezca y cierre la llamada (paso Cierre)."]


def test_technology_not_offered_in_the_zone_is_hinted(config):
    _, steps = render(config, "matched", {"zone": "lomas-del-valle", "technology": "fiber"})
    assert steps["cobertura"]["hints"][0] == "En Lomas del Valle solo hay servicio inalámbrico."


@pytest.mark.parametrize(("technology", "profile", "plans", "recommended"), [
    ("wireless", "basico", ["inalambrico-10", "inalambrico-20", "inalambrico-50"], "inalambrico-10"),
    ("wireless", "intermedio", ["inalambrico-10", "inalambrico-20", "inalambrico-50"], "inalambrico-20"),
    ("fiber", "alto", ["fibra-50", "fibra-100", "fibra-300"], "fibra-300"),
    ("fiber", None, ["fibra-50", "fibra-100", "fibra-300"], None),
])
def test_plans_of_the_chosen_technology_and_recommendation(config, technology, profile, plans,
                                                           recommended):
    answers = {"coverage": True, "wants_to_continue": True, "technology": technology}
    if profile:
        answers["usage_profile"] = profile
    script, steps = render(config, "matched", answers)
    assert [p["id"] for p in script["plans"]] == plans
    assert script["recommended_plan"] == recommended
    assert [p["id"] for p in script["plans"] if p["recommended"]] == ([recommended] if recommended else [])
    plan_field = next(f for f in steps["planes"]["fields"] if f["key"] == "plan_id")
    assert [c["value"] for c in plan_field["choices"]] == plans
    addons_field = next(f for f in steps["planes"]["fields"] if f["key"] == "addons")
    assert [c["value"] for c in addons_field["choices"]] == (
        ["telefonia"] if technology == "wireless" else ["tv", "telefonia"])
    if recommended:
        assert f"le recomiendo el plan {config.plan(recommended).name}" in steps["planes"]["say"][2]


def test_full_call_texts(config):
    script, steps = render(config, "matched", FULL, EVERYTHING_DONE)
    assert steps["saludo"]["say"] == [
        "Hola, muy buenos días. Se comunica a Red Veloz Internet, servicio de internet. "
        "Le atiende Ana Torres. ¿En qué puedo ayudarle?", "¿Tengo el gusto con Laura Méndez?"]
    assert steps["planes"]["say"][0].startswith("¡Tenemos promoción! Instalación gratis noviembre: "
                                                "la instalación es GRATIS")
    assert "válida del 1 de noviembre de 2025 al 30 de noviembre de 2025" in steps["planes"]["say"][0]
    assert steps["contrato"]["say"][1].startswith("Le recalco que con el contrato a 12 meses no es "
                                                  "posible cancelar")
    assert steps["deposito"]["say"][0] == (
        "Con el contrato a 12 meses el pago es de $1,798.00 MXN: $0.00 MXN de instalación más "
        "$800.00 MXN de garantía, más $998.00 MXN de la primera mensualidad.")
    assert steps["condiciones"]["hints"] == [
        "Sin acceso a la azotea: acuerde con el cliente cómo conseguir la llave antes de la visita.",
        "Anote en «Corte de fibra en cruce de edificio» cualquier corte que haga falta: va en la "
        "orden de trabajo."]
    assert steps["cierre"]["say"] == [
        "Le confirmo: plan Alto Rendimiento Fibra de 300 Mbps por $799.00 MXN al mes, con "
        "TV (80 canales); contrato a 12 meses.",
        "El total a pagar es de $1,798.00 MXN.",
        "Su instalación queda programada para el 14 de noviembre de 2025, por la tarde, de 14:00 a 18:00.",
        "Gracias por su preferencia, le atendió Ana Torres. Que tenga un excelente día."]
    assert [i["key"] for i in steps["servicios"]["items"]] == ["plan", "addon:tv", "deposit"]
    assert all(c["ok"] for c in script["checklist"])
    labels = {c["key"]: c["label"] for c in script["checklist"]}
    assert labels["customer_data"] == "Datos del cliente · guardados en WispHub"
    assert labels["services"] == "Servicios anexados: TV (80 canales), Garantía"
    assert [o["raised"] for o in script["objections"]] == [True, False, False, False, False]
    assert "ahora es GRATIS con la promoción Instalación gratis noviembre" in script["objections"][2]["answer"]


def _items(steps):
    return {i["key"]: (i["present_in_wisphub"], i["captured"], i["ok"]) for i in steps["datos"]["items"]}


def test_data_step_merges_wisphub_with_what_was_captured(config):
    _, steps = render(config, "matched", {"coverage": True, "wants_to_continue": True,
                                          "housing": "own"},
                      CallWork.from_operations([Op("document", params={"doc_kind": "dni_front"}),
                                                Op("document", "failed",
                                                   params={"doc_kind": "dni_back"})]))
    assert _items(steps) == {
        "address": (True, False, True), "dni_front": (False, True, True),
        "dni_back": (False, False, False), "proof_of_address": (False, False, False),
        "email": (True, False, True), "extra_phone": (True, False, True),
        "referral": (False, False, False), "location": (False, False, False),
        "housing": (False, True, True)}
    fields = {f["key"]: f for f in steps["datos"]["fields"]}
    assert (fields["email"]["value"], fields["email"]["source"], fields["email"]["present_in_wisphub"]) == (
        "cliente@example.mx", "wisphub", True)
    assert (fields["housing"]["value"], fields["housing"]["source"]) == ("own", "captured")
    assert fields["dni_number"]["present_in_wisphub"] is None
    assert "En WispHub el nombre es: Laura Méndez Ruiz." in steps["datos"]["hints"]
    assert next(c for c in render(config, "matched", {})[0]["checklist"]
                if c["key"] == "documents")["label"] == (
        "Documentos recibidos y subidos (faltan: INE (frente), INE (reverso), Comprobante de domicilio)")


def test_several_matched_uses_the_chosen_record(config):
    first = render_script(config, record=SEVERAL[0], agent_name="Ana", answers={}, now=NOW)
    second = render_script(config, record=SEVERAL[1], agent_name="Ana", answers={}, now=NOW)
    assert first["customer_name"] == "Jorge Salas" and second["customer_name"] == "Rosa Salas"
    first_steps = {s["id"]: s for s in first["steps"]}
    second_steps = {s["id"]: s for s in second["steps"]}
    assert _items(first_steps)["email"] == (False, False, False)
    assert _items(second_steps)["email"] == (True, False, True)
    extra = next(f for f in second_steps["datos"]["fields"] if f["key"] == "extra_phone")
    assert (extra["value"], extra["source"]) == ("+525587654321", "wisphub")


def test_unmatched_call(config):
    script, steps = render(config, "unmatched", {})
    assert script["customer_name"] == ""
    assert steps["saludo"]["say"] == ["Hola, muy buenos días. Se comunica a Red Veloz Internet, "
                                      "servicio de internet. Le atiende Ana Torres. ¿En qué puedo ayudarle?"]
    assert steps["saludo"]["hints"] == [
        "Llamada sin preinstalación vinculada: busque al cliente y vincule la llamada, o capture "
        "sus datos."]
    assert all(not present for present, _, _ in _items(steps).values())
    fields = {f["key"]: f for f in steps["datos"]["fields"]}
    assert fields["email"]["present_in_wisphub"] is False and fields["email"]["value"] is None


def test_captured_name_wins_over_wisphub(config):
    script, steps = render(config, "matched", {"first_name": "Lau", "last_name": "M."})
    assert script["customer_name"] == "Lau M."
    assert steps["saludo"]["say"][1] == "¿Tengo el gusto con Lau M.?"


def test_a_template_failing_in_a_case_start_up_did_not_try_does_not_end_the_call(
        example_data, build, caplog):
    # start-up samples the first zone of each technology; Valle Norte without a plan is new
    example_data["script"]["saludo"]["say"].append(
        "{% if zona == 'Valle Norte' %}{{ plan.nombre }}{% endif %}")
    config = build(example_data)
    script = render_script(config, record=None, agent_name="Ana", answers={"zone": "valle-norte"},
                           now=NOW)
    assert script["steps"][0]["say"][-1] == (
        "[texto no disponible: revise script.saludo.say[2] en la configuración del proveedor]")
    assert "script template script.saludo.say[2] failed" in caplog.text


def test_a_call_the_agent_placed_opens_with_the_outbound_greeting(config):
    script, steps = render(config, "matched", {}, direction="outbound")
    assert script["direction"] == "outbound"
    assert steps["saludo"]["say"] == [
        "Hola, muy buenos días. ¿Hablo con Laura Méndez Ruiz?",
        "Le llamo de Red Veloz Internet para dar seguimiento a su solicitud de instalación. "
        "Mi nombre es Ana Torres. ¿Tiene un momento?"]
    assert not any("¿En qué puedo ayudarle?" in line for line in steps["saludo"]["say"])
    assert steps["cierre"]["say"][-1] == (
        "Gracias por su tiempo, le atendió Ana Torres. Que tenga un excelente día.")
    unknown, _ = render(config, "unmatched", {}, direction="outbound")
    assert unknown["steps"][0]["say"][0] == (
        "Hola, muy buenos días. ¿Hablo con la persona que solicitó el servicio de internet?")
    inbound, inbound_steps = render(config, "matched", {})
    assert inbound["direction"] == "inbound"
    assert inbound_steps["saludo"]["say"][0].endswith("¿En qué puedo ayudarle?")


def test_a_step_without_outbound_lines_reads_its_usual_lines_on_outbound_calls(config):
    _, outbound = render(config, "matched", FULL, direction="outbound")
    _, inbound = render(config, "matched", FULL)
    assert outbound["cobertura"]["say"] == inbound["cobertura"]["say"]


# second person "tú" imperatives an agent hint must not use (usted: busque, elija, suba…)
TU_FORMS = re.compile(r"\b(busca|captura|mantén|agradece|cierra|activa|elige|recalca|responde|"
                      r"sube|acuerda|anota|anexa|confirma|escribe|usa|pulsa|revisa|verifica)\b",
                      re.IGNORECASE)
# the pop activates, uploads and attaches services itself: no hint sends the agent to WispHub's
# own screens for that
WISPHUB_CHORES = re.compile(r"(en WispHub:|→|Subir archivos|Lista de instalaciones|"
                            r"Activa(r)? la preinstalación en WispHub|Anexa en WispHub)")
HINT_CASES = [{}, FULL, {**FULL, "coverage": False}, {**FULL, "wants_to_continue": False},
              {**FULL, "outlet_near": False}, {"zone": "lomas-del-valle", "technology": "fiber"},
              {"technology": "wireless", "plan_id": "fibra-300"}, {"zone": "sierra-alta"}]


@pytest.mark.parametrize("customer", CUSTOMERS)
@pytest.mark.parametrize("work", [None, EVERYTHING_DONE], ids=["nothing-done", "all-done"])
def test_hints_use_usted_and_never_send_the_agent_to_do_in_wisphub_what_the_pop_does(
        config, customer, work):
    for answers in HINT_CASES:
        script, _ = render(config, customer, answers, work)
        texts = [h for s in script["steps"] for h in s["hints"]] + [
            s["lock_reason"] for s in script["steps"] if s["lock_reason"]]
        for text in texts:
            assert not TU_FORMS.search(text), text
            assert not WISPHUB_CHORES.search(text), text


def test_what_the_pop_did_shows_in_the_steps_the_record_and_the_checklist(config):
    answers = {"coverage": True, "wants_to_continue": True, "referral": "Facebook",
               "location_url": "19.4326,-99.1332"}
    before, before_steps = render(config, "matched", answers)
    assert before["missing"] == ["dni_front", "dni_back", "proof_of_address", "housing"]
    assert not before["activation"]["done"]
    assert "Pulse «Activar preinstalación» en esta pantalla" in before_steps["cobertura"]["hints"][0]
    work = CallWork.from_operations([
        Op("activation", reference="Instalación 101"),
        Op("document", params={"doc_kind": "dni_front"}),
        Op("document", params={"doc_kind": "dni_back"}),
        Op("document", "sending", params={"doc_kind": "proof_of_address"})])
    after, steps = render(config, "matched", answers, work)
    assert after["missing"] == ["proof_of_address", "housing"]
    assert after["activation"] == {
        "done": True, "reference": "Instalación 101",
        "text": "Preinstalación activada en WispHub (Instalación 101): el cliente ya está en "
                "Instalaciones."}
    assert steps["cobertura"]["hints"] == [after["activation"]["text"]]
    checks = {c["key"]: c for c in after["checklist"]}
    assert (checks["activation"]["ok"], checks["activation"]["label"]) == (
        True, "Preinstalación activada (Instalación 101)")
    assert (checks["documents"]["ok"], checks["documents"]["label"]) == (
        False, "Documentos recibidos y subidos (faltan: Comprobante de domicilio)")
    items = {i["key"]: i for i in steps["datos"]["items"]}
    assert (items["dni_front"]["ok"], items["dni_front"]["note"]) == (True, "subido")
    assert "documents_received" not in {f["key"] for f in steps["datos"]["fields"]}


def test_an_address_the_record_shows_is_not_missing(config):
    shown = record("301", "Ana Ruiz", ("address", "email"), address="Calle 5 #10", email=None)
    script = render_script(config, record=shown, agent_name="Ana", answers={}, now=NOW)
    steps = {s["id"]: s for s in script["steps"]}
    assert script["missing"] == ["email"]
    assert {i["key"]: i["ok"] for i in steps["datos"]["items"]}["address"] is True
    address = next(f for f in steps["cobertura"]["fields"] if f["key"] == "address")
    assert (address["value"], address["present_in_wisphub"]) == ("Calle 5 #10", True)
