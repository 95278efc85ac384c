"""The registry of languages: every folder `router/data/lang/<code>/` with a `language.json`.

A language is data, never a branch in code: its script (for detection), its word lists
(numbers, units, cues), its lexicon, dialogue words and LLM examples all live in its folder,
and the code reads every registered language alike. `docs/LANG_DATA.md`-style guidance for
each file is in the folder's files themselves (`_about` keys, `#` comment lines) and in
`docs/ARCHITECTURE.md` ("Checklist: add a language"). Stdlib only: the normalization, the
lexicon and the migrations' tests import this.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_FILES", "LANG_DIR", "Language", "codes", "default_language", "fallback_language",
    "language", "languages", "read_json", "read_tsv", "script_class", "script_language",
]

LANG_DIR = Path(__file__).with_name("data") / "lang"
# Every language folder holds exactly these files (tests/test_language_data.py checks it).
DATA_FILES = (
    "language.json", "items.tsv", "item_notes.tsv", "item_words.tsv", "dish_words.tsv",
    "amounts.json", "words.json", "dialogue.json", "llm_examples.tsv", "recipes.json",
    "clauses.json",
)
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass(frozen=True, slots=True)
class Language:
    """One registered language, as its `language.json` declares it."""

    code: str
    name: str
    native: str
    direction: str
    order: int
    # The script's letters as inclusive code point ranges.
    script: tuple[tuple[int, int], ...]
    # The language a message goes to when no other script outweighs its letters (Latin).
    fallback: bool
    # The language of a message with no letters at all and no usable hint.
    default: bool
    # Telegram `language_code` prefixes that mean this language.
    hints: tuple[str, ...]
    # How the language separates the items of a list it writes ("a, b").
    comma: str
    # Where a compound name's head word stands: "last" as in "soy milk", "first" as in
    # Hebrew and Arabic "milk soy".
    head: str


def _code_point(text: str) -> int:
    text = _ESCAPE.sub(lambda found: chr(int(found.group(1), 16)), text)
    if len(text) != 1:
        raise ValueError(f"not one character: {text!r}")
    return ord(text)


def _ranges(raw: list[Any]) -> tuple[tuple[int, int], ...]:
    """Ranges written as "\\u05d0-\\u05ea" (or the letters themselves) or [first, last]."""
    out = []
    for item in raw:
        if isinstance(item, list):
            first, last = int(item[0]), int(item[1])
        else:
            text = _ESCAPE.sub(lambda found: chr(int(found.group(1), 16)), str(item))
            if len(text) == 3 and text[1] == "-":
                first, last = ord(text[0]), ord(text[2])
            else:
                first = last = _code_point(text)
        if first > last:
            raise ValueError(f"empty range {item!r}")
        out.append((first, last))
    return tuple(out)


def _load(path: Path) -> Language:
    raw = json.loads(path.read_text(encoding="utf-8"))
    code = str(raw["code"])
    if code != path.parent.name:
        raise ValueError(f"{path}: code {code!r} is not its folder's name")
    return Language(
        code=code, name=str(raw["name"]), native=str(raw["native"]),
        direction=str(raw.get("direction", "ltr")), order=int(raw.get("order", 99)),
        script=_ranges(raw["script"]), fallback=bool(raw.get("fallback", False)),
        default=bool(raw.get("default", False)),
        hints=tuple(str(h).lower() for h in raw.get("hints", [code])),
        comma=str(raw.get("comma", ", ")),
        head=str(raw.get("head", "first")),
    )


@cache
def languages() -> tuple[Language, ...]:
    """Every registered language, in its declared order (the order word lists are joined in,
    and the tie-break of detection)."""
    found = [_load(path) for path in sorted(LANG_DIR.glob("*/language.json"))]
    found.sort(key=lambda lang: (lang.order, lang.code))
    if sum(lang.fallback for lang in found) != 1 or sum(lang.default for lang in found) != 1:
        raise ValueError("exactly one language must be the fallback and one the default")
    return tuple(found)


def codes() -> tuple[str, ...]:
    """The registered language codes, in order."""
    return tuple(lang.code for lang in languages())


def language(code: str) -> Language:
    """One registered language by its code (KeyError when not registered)."""
    for lang in languages():
        if lang.code == code:
            return lang
    raise KeyError(code)


def fallback_language() -> Language:
    """The language of Latin-script text (English)."""
    return next(lang for lang in languages() if lang.fallback)


def default_language() -> Language:
    """The language of a message without letters or hint (Hebrew)."""
    return next(lang for lang in languages() if lang.default)


def script_class(lang: Language) -> str:
    """The language's letters as a regular-expression character class."""
    parts = "".join(f"\\u{first:04x}-\\u{last:04x}" if first != last else f"\\u{first:04x}"
                    for first, last in lang.script)
    return f"[{parts}]"


def script_language(text: str) -> Language | None:
    """The non-fallback language with the most letters in the text (ties to the earlier);
    None when it has none of their letters."""
    best, most = None, 0
    for lang in languages():
        if lang.fallback:
            continue
        count = sum(1 for char in text
                    if any(first <= ord(char) <= last for first, last in lang.script))
        if count > most:
            best, most = lang, count
    return best


@cache
def read_json(code: str, name: str) -> Any:
    """One language's JSON data file (read once)."""
    return json.loads((LANG_DIR / code / name).read_text(encoding="utf-8"))


@cache
def read_tsv(code: str, name: str) -> tuple[tuple[str, ...], ...]:
    """One language's tab-separated data file as rows, `#` comment and blank lines skipped
    (read once). A file whose first line is a header keeps it as its first row."""
    path = LANG_DIR / code / name
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if not row or not "".join(row).strip() or row[0].startswith("#"):
                continue
            rows.append(tuple(row))
    return tuple(rows)
