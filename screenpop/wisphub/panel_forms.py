"""WispHub panel forms read by field name, and the activation payload built from them (pure).

The panel is a Django app: fields carry prefixed names (`usr-`, `perfil-`, `cliente-`), selects
start with a `---------` blank option, and the activation page lists free IPs in a hidden popover
(wisphub-panel.md §0, §4). A field the payload needs that the page no longer has stops the build
with a precise message, so a half-filled form is never sent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Tag

from screenpop.fields import fold
from screenpop.wisphub.errors import PanelLayoutError

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
BLANK_OPTION = "---------"


class PanelFormChanged(PanelLayoutError):
    """The form lacks a field or option the payload needs; nothing was sent."""


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str                                    # text | hidden | select | textarea | checkbox | file
    value: str = ""
    options: tuple[tuple[str, str], ...] = ()    # (value, text) of a select, blank option excluded


@dataclass(frozen=True)
class PanelForm:
    action: str | None
    fields: dict[str, FormField]
    csrf: str | None
    free_ips: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=())
    label: str = "activación"   # which form, for messages: "el formulario de <label> …"
    labels: dict[str, str] = field(default_factory=dict)  # field name → its <label> text

    def option_text(self, name: str, value: str) -> str:
        """What the panel shows for `value` of select `name` (the value itself otherwise)."""
        found = self.fields.get(name)
        if found is None or found.kind != "select":
            return value
        return next((text for v, text in found.options if v == value), value)


def _field(tag: Tag) -> FormField | None:
    name = tag.get("name")
    if not name:
        return None
    if tag.name == "select":
        options, value = [], ""
        for option in tag.find_all("option"):
            text = " ".join(option.get_text(" ").split())
            opt_value = str(option.get("value", text))
            if option.has_attr("selected"):
                value = opt_value
            if opt_value and text != BLANK_OPTION:
                options.append((opt_value, text))
        return FormField(str(name), "select", value, tuple(options))
    if tag.name == "textarea":
        return FormField(str(name), "textarea", tag.get_text())
    kind = str(tag.get("type", "text")).lower()
    if kind == "checkbox":
        return FormField(str(name), kind, "on" if tag.has_attr("checked") else "")
    return FormField(str(name), kind, str(tag.get("value", "")))


def parse_form(html: str, selector: str = "form", label: str = "activación") -> PanelForm:
    """The first form matching `selector` (falls back to the first form with a CSRF field)."""
    soup = BeautifulSoup(html, "html.parser")
    form = soup.select_one(selector)
    if form is None:
        form = next((f for f in soup.find_all("form")
                     if f.find("input", attrs={"name": "csrfmiddlewaretoken"})), None)
    if form is None:
        raise PanelFormChanged(f"el formulario de {label} de WispHub cambió: la página ya no "
                               f"lo muestra / form {selector} not found")
    fields: dict[str, FormField] = {}
    for tag in form.find_all(["input", "select", "textarea"]):
        parsed = _field(tag)
        if parsed is not None and parsed.name not in fields:
            fields[parsed.name] = parsed
    csrf = fields.pop("csrfmiddlewaretoken", None)
    ids = {f"id_{name}": name for name in fields}
    labels = {ids[str(tag["for"])]: " ".join(tag.get_text(" ").split()).rstrip(" :*")
              for tag in form.find_all("label") if tag.get("for") in ids}
    popover = soup.select("#popover-ips-disponibles ul li a")
    ips = tuple(ip for a in popover if (ip := a.get_text().strip()) and _IPV4.fullmatch(ip))
    return PanelForm(action=form.get("action"), fields=fields, csrf=csrf.value if csrf else None,
                     free_ips=ips, errors=tuple(form_errors(html)), label=label, labels=labels)


def form_errors(html: str) -> list[str]:
    """Django's field errors (`ul.errorlist li`) and error alerts, as text."""
    soup = BeautifulSoup(html, "html.parser")
    found = [" ".join(li.get_text(" ").split()) for li in soup.select("ul.errorlist li")]
    found += [" ".join(a.get_text(" ").split()) for a in soup.select(".alert-danger")]
    return [text for text in found if text]


class AmbiguousOption(PanelFormChanged):
    """More than one option of a select fits what we want; nothing was chosen nor sent."""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def _contains_words(text: str, wanted: list[str]) -> bool:
    words = _words(text)
    return any(words[i:i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1))


def choose_option(form: PanelForm, name: str, wanted: str, *, what: str) -> str:
    """The value of the one option of select `name` that is `wanted`: its value, else its whole
    text (accent- and case-folded), else the only option whose text holds `wanted` as whole
    words. Several candidates are an error naming them — "ZONA SUR" never silently picks
    "ZONA SUR 2 - CORTE 5" (the zone sets the billing day)."""
    options = require(form, name, what).options
    if not wanted:
        raise PanelFormChanged(f"no se sabe qué elegir en «{what}» / no value for {name}")
    for value, _ in options:
        if value == wanted:
            return value
    target = _words(wanted)
    exact = [(v, t) for v, t in options if _words(t) == target]
    candidates = exact or [(v, t) for v, t in options if target and _contains_words(t, target)]
    if len(candidates) == 1:
        return candidates[0][0]
    if candidates:
        named = ", ".join(f"«{t}»" for _, t in candidates[:8])
        raise AmbiguousOption(f"«{wanted}» no es una sola opción de {what} en WispHub: coincide con "
                              f"{named}; configure el nombre exacto / ambiguous option in {name}")
    offered = ", ".join(text for _, text in options[:8]) or "ninguna"
    raise PanelFormChanged(f"WispHub no ofrece «{wanted}» en {what}; opciones: {offered} "
                           f"/ option {wanted!r} not offered in {name}")


def require(form: PanelForm, name: str, what: str) -> FormField:
    found = form.fields.get(name)
    if found is None:
        raise PanelFormChanged(f"el formulario de {form.label} de WispHub cambió: ya no tiene el "
                               f"campo «{what}» / the {form.label} form lacks field {name}")
    return found
