"""Playbooks: TOML files that map detector signals to short reset prompts.

A playbook is data, not code: ``assistant/coach/playbooks/<name>.toml`` ships the built-in
ones (``sales-call``, ``coaching-1on1``) and a user can pass the path of their own
file. Loading validates everything up front so a typo fails at start-up with the
file and field named, never mid-call.
"""

from __future__ import annotations

import codecs
import sys
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

from assistant.coach.detectors import TRIGGERS, Mode
from assistant.coach.detectors.objection_model import CATEGORIES as OBJECTION_CATEGORIES
from assistant.errors import TurnaroundError
from assistant.events import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BUILTIN_PLAYBOOKS = ("sales-call", "coaching-1on1")

# Triggers whose rules may name categories, and the categories they know.
CATEGORIES: dict[str, tuple[str, ...]] = {"objection": OBJECTION_CATEGORIES}

# A card is read at a glance mid-sentence: a prompt longer than ~two short lines is
# not read at all.
MAX_PROMPT_CHARS = 200
MAX_WHY_CHARS = 160
# Every number in a playbook is seconds, a count per minute or a confidence; a
# million of any of them is already meaningless, and the bound keeps nan, inf and
# 400-digit integers out.
MAX_NUMBER = 1_000_000
# A playbook is a few kilobytes of TOML.
MAX_FILE_BYTES = 1024 * 1024


class PlaybookError(TurnaroundError):
    """A playbook file is missing or invalid."""


class Urgency(str, Enum):
    """How long a card's moment lasts (see ``Pacing``)."""

    NOW = "now"  # about the next thing to say: over once the coached speaker has spoken
    SOON = "soon"  # a habit to change: still worth reading after they have spoken

    @property
    def rank(self) -> int:
        return 1 if self is Urgency.NOW else 0


@dataclass(frozen=True)
class Source:
    """Where a prompt's advice comes from (one of the seed articles, or the user's)."""

    key: str
    title: str
    seed: str

    def cite(self) -> str:
        return f"{self.title} ({self.seed})" if self.seed else self.title


@dataclass(frozen=True)
class Limits:
    """Anti-nag limits, all on the stream clock."""

    min_gap_s: float  # between any two cards
    max_cards_per_minute: int  # over a rolling 60 s
    default_cooldown_s: float  # same trigger again, unless the rule overrides it
    repeat_prompt_after_s: float  # identical prompt text again


@dataclass(frozen=True)
class Pacing:
    """Which card may show while another is still fresh (``[pacing]``, all optional).

    A card holds the overlay for ``Limits.min_gap_s``; inside that time a new card
    appears only when it is more severe than the one showing
    (``replace_with_more_severe``), or when the one showing was ``urgency = "now"``
    and the coached speaker has spoken since it appeared (``release_when_answered``):
    its moment has passed. Either way never within ``glance_s`` of the last card, and
    never more than ``max_cards_per_minute``.
    """

    glance_s: float = 4.0
    replace_with_more_severe: bool = True
    release_when_answered: bool = True


@dataclass(frozen=True)
class Rule:
    trigger: str
    prompts: tuple[str, ...]  # rotated, so a repeated card does not repeat its words
    why: str
    source: Source
    severity: Severity
    min_confidence: float
    cooldown_s: float
    categories: tuple[str, ...] = ()  # for "objection": only these categories
    urgency: Urgency = Urgency.SOON

    @property
    def key(self) -> str:
        """Identifies the rule (one trigger can have several, by category)."""
        return self.trigger + "|" + ",".join(self.categories)

    def matched_category(self, evidence: dict[str, Any]) -> str | None:
        """The first of the signal's categories this rule covers ("" when the signal
        has none and the rule needs none); None when the rule does not apply."""
        found = evidence.get("categories") or (
            [evidence["category"]] if "category" in evidence else []
        )
        if not self.categories:
            return str(found[0]) if found else ""
        return next((str(c) for c in found if c in self.categories), None)

    def matches(self, evidence: dict[str, Any]) -> bool:
        return self.matched_category(evidence) is not None


@dataclass(frozen=True)
class Playbook:
    name: str
    mode: Mode
    description: str
    limits: Limits
    rules: tuple[Rule, ...]
    pacing: Pacing = Pacing()

    def rules_for(self, trigger: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.trigger == trigger)


def load_playbook(name_or_path: str | Path) -> Playbook:
    """Load a built-in playbook by name, or a user's TOML file by path."""
    text, origin = _read(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(f"{origin}: not valid TOML ({exc})") from exc
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise PlaybookError(f"{origin}: not a playbook (values nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise PlaybookError(f"{origin}: not valid TOML ({exc})") from None
    return parse_playbook(data, origin)


def _read(name_or_path: str | Path) -> tuple[str, str]:
    name = str(name_or_path)
    if name in BUILTIN_PLAYBOOKS:
        resource = resources.files("assistant.coach").joinpath("playbooks").joinpath(f"{name}.toml")
        return resource.read_text(encoding="utf-8"), f"playbook {name!r}"
    try:
        path = Path(name_or_path).expanduser()
        found = path.is_file()
    except (OSError, RuntimeError, ValueError):  # name too long, "~nobody/x", NUL
        found = False
    if not found:
        raise PlaybookError(
            f"playbook {name!r} not found: use one of {', '.join(BUILTIN_PLAYBOOKS)} "
            "or the path of a .toml file"
        )
    skipped = 0  # bytes of byte-order mark before the text
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PlaybookError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MB; not a playbook")
        data = path.read_bytes()
        # A Windows editor's byte-order mark is skipped, as in transcripts: TOML
        # refuses it ("Invalid statement (at line 1, column 1)").
        if data.startswith(codecs.BOM_UTF8):
            skipped = len(codecs.BOM_UTF8)
        return data[skipped:].decode("utf-8"), str(path)
    except PermissionError:
        # Said, as for audio, transcripts and models; str(exc) read "[Errno 13] ...".
        raise PlaybookError(f"permission denied: {path}") from None
    except OSError as exc:
        raise PlaybookError(f"{path}: cannot read playbook ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise PlaybookError(f"{path}: not UTF-8 text (byte {skipped + exc.start})") from None


def parse_playbook(data: dict[str, Any], origin: str = "playbook") -> Playbook:
    """Validate parsed TOML and build a ``Playbook``; errors name the field."""
    _only(data, {"name", "mode", "description", "limits", "pacing", "sources", "rules"}, origin)
    name = _str(data, "name", origin)
    try:
        mode = Mode(_str(data, "mode", origin))
    except ValueError:
        modes = ", ".join(m.value for m in Mode)
        raise PlaybookError(f"{origin}: mode must be one of {modes}") from None
    limits_data = _table(data, "limits", origin)
    where = f"{origin} [limits]"
    _only(
        limits_data,
        {"min_gap_s", "max_cards_per_minute", "default_cooldown_s", "repeat_prompt_after_s"},
        where,
    )
    limits = Limits(
        min_gap_s=_number(limits_data, "min_gap_s", where),
        max_cards_per_minute=int(_number(limits_data, "max_cards_per_minute", where)),
        default_cooldown_s=_number(limits_data, "default_cooldown_s", where),
        repeat_prompt_after_s=_number(limits_data, "repeat_prompt_after_s", where),
    )
    if limits.max_cards_per_minute < 1:
        raise PlaybookError(f"{where}: max_cards_per_minute must be at least 1")
    sources = {
        key: _source(key, value, f"{origin} [sources.{key}]")
        for key, value in _table(data, "sources", origin).items()
    }
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PlaybookError(f"{origin}: needs at least one [[rules]] entry")
    rules = tuple(
        _rule(raw, f"{origin} rule {i + 1}", mode, sources, limits)
        for i, raw in enumerate(raw_rules)
    )
    pacing = _pacing(data.get("pacing", {}), f"{origin} [pacing]", limits)
    return Playbook(name, mode, str(data.get("description", "")), limits, rules, pacing)


def _pacing(raw: Any, where: str, limits: Limits) -> Pacing:
    if not isinstance(raw, dict):
        raise PlaybookError(f"{where}: must be a table")
    _only(raw, {"glance_s", "replace_with_more_severe", "release_when_answered"}, where)
    default = Pacing()
    # Unset, it is the default glance, or the whole gap when the gap is shorter.
    glance_s = _number(raw, "glance_s", where, default=min(default.glance_s, limits.min_gap_s))
    if glance_s > limits.min_gap_s:
        raise PlaybookError(f"{where}: glance_s must not exceed [limits] min_gap_s")
    flags = {}
    for key in ("replace_with_more_severe", "release_when_answered"):
        value = raw.get(key, getattr(default, key))
        if not isinstance(value, bool):
            raise PlaybookError(f"{where}: {key} must be true or false")
        flags[key] = value
    return Pacing(glance_s=glance_s, **flags)


def _rule(raw: Any, where: str, mode: Mode, sources: dict[str, Source], limits: Limits) -> Rule:
    if not isinstance(raw, dict):
        raise PlaybookError(f"{where}: must be a table")
    _only(
        raw,
        {
            "trigger",
            "prompts",
            "why",
            "source",
            "severity",
            "min_confidence",
            "cooldown_s",
            "categories",
            "urgency",
        },
        where,
    )
    trigger = _str(raw, "trigger", where)
    where = f"{where} ({trigger})"
    if trigger not in TRIGGERS[mode]:
        known = ", ".join(sorted(TRIGGERS[mode]))
        raise PlaybookError(f"{where}: unknown trigger for mode {mode.value}; known: {known}")
    prompts = raw.get("prompts")
    if (
        not isinstance(prompts, list)
        or not prompts
        or not all(isinstance(p, str) and p.strip() for p in prompts)
    ):
        raise PlaybookError(f"{where}: prompts must be a non-empty list of strings")
    for prompt in prompts:
        if len(prompt) > MAX_PROMPT_CHARS:
            raise PlaybookError(f"{where}: prompt longer than {MAX_PROMPT_CHARS} characters")
    why = _str(raw, "why", where)
    if len(why) > MAX_WHY_CHARS:
        raise PlaybookError(f"{where}: why longer than {MAX_WHY_CHARS} characters")
    source_key = _str(raw, "source", where)
    if source_key not in sources:
        raise PlaybookError(f"{where}: source {source_key!r} is not defined in [sources]")
    try:
        severity = Severity(raw.get("severity", "info"))
    except ValueError:
        raise PlaybookError(f"{where}: severity must be info, warn or alert") from None
    confidence = float(_number(raw, "min_confidence", where, default=0.5))
    if not 0.0 <= confidence <= 1.0:
        raise PlaybookError(f"{where}: min_confidence must be between 0 and 1")
    categories = raw.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise PlaybookError(f"{where}: categories must be a list of strings")
    unknown = sorted(set(categories) - set(CATEGORIES.get(trigger, ())))
    if unknown:
        allowed = ", ".join(CATEGORIES.get(trigger, ())) or "none (only objection rules have them)"
        raise PlaybookError(
            f"{where}: unknown categor{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(unknown)}; known: {allowed}"
        )
    try:
        urgency = Urgency(raw.get("urgency", "soon"))
    except ValueError:
        raise PlaybookError(f"{where}: urgency must be now or soon") from None
    return Rule(
        trigger=trigger,
        prompts=tuple(p.strip() for p in prompts),
        why=why,
        source=sources[source_key],
        severity=severity,
        min_confidence=confidence,
        cooldown_s=_number(raw, "cooldown_s", where, default=limits.default_cooldown_s),
        categories=tuple(categories),
        urgency=urgency,
    )


def _source(key: str, value: Any, where: str) -> Source:
    if not isinstance(value, dict):
        raise PlaybookError(f"{where}: must be a table with title and seed")
    _only(value, {"title", "seed"}, where)
    return Source(key, _str(value, "title", where), str(value.get("seed", "")))


def _only(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PlaybookError(f"{where}: unknown field(s) {', '.join(unknown)}")


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise PlaybookError(f"{where}: missing [{key}] table")
    return value


def _str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PlaybookError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _number(data: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = data.get(key, default)
    # Compared before float(): a 400-digit integer would overflow it; and nan or inf
    # (valid TOML) would reach int() and the anti-nag arithmetic.
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (0 <= value <= MAX_NUMBER)  # also False for nan
    ):
        raise PlaybookError(f"{where}: {key} must be a number from 0 to {MAX_NUMBER:g}")
    return float(value)
