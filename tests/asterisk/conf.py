"""Reading asterisk-config/ the way Asterisk does, as far as the tests need: sections with
templates (`[name](!)`, `[name](template)`), repeated section names (pjsip.conf's endpoint, aor,
auth and identify all called `trunk`), `key = value` and `key => value`, `;` comments; and
dialplan extension patterns."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[2] / "asterisk-config"
HERE = Path(__file__).resolve().parent


@dataclass
class Section:
    name: str
    is_template: bool
    options: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        values = self.all(key)
        return values[-1] if values else default

    def all(self, key: str) -> list[str]:
        return [value for name, value in self.options if name == key]


def _strip_comment(line: str) -> str:
    # `\;` is a literal semicolon in Asterisk config files
    return re.sub(r"(?<!\\);.*", "", line).rstrip()


@cache
def sections(filename: str) -> tuple[Section, ...]:
    found: list[Section] = []
    by_name: dict[str, list[Section]] = {}
    current: Section | None = None
    for raw in (CONFIG_DIR / filename).read_text(encoding="utf-8").splitlines():
        line = _strip_comment(raw).strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if header:
            flags = [part.strip() for part in (header.group(2) or "").split(",") if part.strip()]
            current = Section(header.group(1), "!" in flags)
            for template in (flag for flag in flags if flag != "!"):
                # a section inherits the options of the last template of that name
                current.options.extend(by_name[template][-1].options)
            found.append(current)
            by_name.setdefault(current.name, []).append(current)
            continue
        option = re.fullmatch(r"([^=]+?)\s*=>?\s*(.*)", line)
        if current is None or option is None:
            continue
        current.options.append((option.group(1), option.group(2)))
    return tuple(found)


def section(filename: str, name: str, **where: str) -> Section:
    """The one concrete section of that name whose options include `where` (e.g. type=aor)."""
    matches = [s for s in sections(filename) if s.name == name and not s.is_template
               and all(s.get(k) == v for k, v in where.items())]
    assert len(matches) == 1, f"{filename}: expected one [{name}] {where}, found {len(matches)}"
    return matches[0]


def concrete(filename: str, **where: str) -> list[Section]:
    return [s for s in sections(filename) if not s.is_template
            and all(s.get(k) == v for k, v in where.items())]


# --- dialplan -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    context: str
    exten: str
    app: str
    data: str
    line: int


@cache
def dialplan() -> tuple[Step, ...]:
    steps: list[Step] = []
    context = exten = ""
    for number, raw in enumerate((CONFIG_DIR / "extensions.conf").read_text().splitlines(), 1):
        line = _strip_comment(raw).strip()
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            context = header.group(1)
            continue
        step = re.fullmatch(r"(?:exten\s*=>\s*([^,]+),[^,]+|same\s*=>\s*[^,]+),(\w+)\((.*)\)", line)
        if step:
            exten = step.group(1) or exten
            steps.append(Step(context, exten.strip(), step.group(2), step.group(3), number))
    return tuple(steps)


def extensions(context: str) -> set[str]:
    return {step.exten for step in dialplan() if step.context == context}


def globals_() -> dict[str, str]:
    return dict(section("extensions.conf", "globals").options)


_PATTERN_CLASSES = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


def pattern_matches(pattern: str, exten: str) -> bool:
    """Asterisk's extension matching: a literal, or `_` + X/Z/N/[…]/./! and literal digits."""
    if not pattern.startswith("_"):
        return pattern == exten
    regex = ""
    chars = iter(pattern[1:])
    for char in chars:
        if char in _PATTERN_CLASSES:
            regex += _PATTERN_CLASSES[char]
        elif char == "[":
            body = ""
            for inner in chars:
                if inner == "]":
                    break
                body += inner
            regex += f"[{body}]"
        elif char == ".":
            regex += ".+"
        elif char == "!":
            regex += ".*"
        else:
            regex += re.escape(char)
    return re.fullmatch(regex, exten) is not None


def routes(context: str, exten: str) -> bool:
    return any(pattern_matches(pattern, exten) for pattern in extensions(context))
