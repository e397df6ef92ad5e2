"""The script texts: jinja2 templates compiled once, in a sandbox, with autoescape and strict
undefined variables. A rendered line is HTML-safe text (values escaped); a line that renders to
nothing (a false `{% if %}`) is dropped."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

_MARKUP = re.compile(r"<\s*[a-zA-Z/!]")


class TemplateSourceError(ValueError):
    """A template that does not compile; `path` is its key in the provider config."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def make_environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


class ScriptTemplates:
    """Compiled templates keyed by their config path (e.g. `script.saludo.say[0]`)."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        environment = make_environment()
        self._templates: dict[str, Template] = {}
        for path, source in sources.items():
            if _MARKUP.search(source):
                raise TemplateSourceError(path, "los textos del guion son texto, no HTML "
                                                "(quite las etiquetas <…>)")
            try:
                self._templates[path] = environment.from_string(source)
            except TemplateSyntaxError as exc:
                raise TemplateSourceError(
                    path, f"error de sintaxis en la plantilla (línea {exc.lineno}): {exc.message}"
                ) from None

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self._templates)

    def render(self, path: str, context: Mapping[str, Any]) -> str:
        """The line as escaped HTML text, whitespace collapsed; jinja2 errors propagate."""
        return " ".join(self._templates[path].render(context).split())
