"""Named lists in words: what a message asks of a list, and which list it names.

Every language's words are data (router/data/lang/<code>/words.json, key `lists`; the
languages README says what each key means). A list's identity across languages is a
concept, as an item's is: the Hebrew, English and Arabic names of a pharmacy name one list;
any other name is its own words, normalized (`~` and the key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from router.languages import codes, read_json
from router.normalize import clean_text, normalize
from router.types import Entities

__all__ = ["ACTIONS", "DEFAULT", "asked_list", "clean_name", "list_concept", "list_entities",
           "list_key", "split_target"]

# What LIST_MANAGE asks; "open" is a bare list name ("the party list"): switch to it when
# it exists, create it when not.
ACTIONS = ("create", "switch", "show", "rename", "delete", "open")
# The concept of the default list's own names ("main", "the shopping list").
DEFAULT = "default"
MAX_NAME = 64
# The order patterns are tried in: a rename names two lists, a delete one, and a bare
# list name comes last.
_KINDS = ("rename", "delete", "show", "create", "switch", "open")


@dataclass(frozen=True, slots=True)
class _Words:
    words: frozenset[str]
    not_names: frozenset[str]
    noise: frozenset[str]
    articles: tuple[str, ...]
    restore: dict[str, str]
    spellings: dict[str, str]
    patterns: dict[str, tuple[re.Pattern[str], ...]]


def _data() -> list[dict[str, Any]]:
    return [read_json(code, "words.json").get("lists", {}) for code in codes()]


@cache
def _words() -> _Words:
    data = _data()
    articles = tuple(sorted({a for d in data for a in d.get("articles", [])}, key=len,
                            reverse=True))
    words = frozenset(normalize(w) for d in data for w in d.get("words", []))
    spellings: dict[str, str] = {}
    for d in data:
        for concept, names in d.get("names", {}).items():
            for name in names:
                spellings.setdefault(_key(name, words, articles), concept)
        for name in d.get("default", []):
            spellings.setdefault(_key(name, words, articles), DEFAULT)
    patterns = {kind: tuple(re.compile(p, re.IGNORECASE) for d in data
                            for p in d.get(kind, []))
                for kind in (*_KINDS, "target")}
    return _Words(words=words,
                  not_names=frozenset(normalize(w) for d in data
                                      for w in d.get("not_names", [])),
                  noise=frozenset(normalize(w) for d in data for w in d.get("noise", [])),
                  articles=articles, spellings=spellings, patterns=patterns,
                  restore={k: v for d in data for k, v in d.get("restore", {}).items()})


def _key(name: str, words: frozenset[str], articles: tuple[str, ...]) -> str:
    out = []
    for word in normalize(name).split():
        if word in words:
            continue
        for article in articles:
            if word.startswith(article) and len(word) - len(article) >= 3:
                word = word[len(article):]
                break
        out.append(word)
    return " ".join(out)


def list_key(name: str) -> str:
    """A list name as it is compared: normalized, without the words around it ("the",
    "list") and articles."""
    words = _words()
    return _key(_clean(name) or name, words.words, words.articles)


def list_concept(name: str) -> str:
    """What a list name stands for in every language: a concept ("pharmacy"), `DEFAULT`
    for the default list's names, or `~` and its key."""
    key = list_key(name)
    return _words().spellings.get(key) or f"~{key}"


_EDGE = re.compile(r"^[\s\"'«»“”„:,.!?()\-–—\u061f\u060c]+|[\s\"'«»“”„:,.!?()\-–—\u061f\u060c]+$")


def clean_name(raw: str | None) -> str | None:
    """A list name as written, without the words around it ("the", "list", "please");
    None when nothing of a name is left ("the list", "this one")."""
    return _clean(raw) if raw else None


def _clean(raw: str) -> str | None:
    words = _words()
    # A name ends at a clause break ("the camping list, we're back").
    raw = re.split(r"[,;.!?\u061f\u060c]", raw)[0]
    parts = _EDGE.sub("", clean_text(raw)).split()

    def skip(word: str) -> bool:
        plain = normalize(_EDGE.sub("", word))
        return plain in words.noise or plain in words.words or not plain

    while parts and skip(parts[0]):
        parts.pop(0)
    while parts and skip(parts[-1]):
        parts.pop()
    if parts:
        # A glued "to" that swallowed the article's first letter (Arabic lam-lam + name).
        for glued, letters in words.restore.items():
            if parts[0].startswith(glued) and len(parts[0]) - len(glued) >= 2:
                parts[0] = letters + parts[0][len(glued):]
                break
    name = _EDGE.sub("", " ".join(parts))[:MAX_NAME].strip()
    if not name or normalize(name) in words.not_names or not _key(name, words.words,
                                                                      words.articles):
        return None
    return name


def list_entities(text: str) -> Entities:
    """LIST_MANAGE's entities: the action, the list it names (None: the current one) and,
    for a rename, the new name. Words that fit no pattern ask for the lists."""
    cleaned = clean_text(text)
    for kind in _KINDS:
        for pattern in _words().patterns[kind]:
            found = pattern.search(cleaned)
            if found is None:
                continue
            groups = found.groupdict()
            name = clean_name(groups.get("name"))
            new = clean_name(groups.get("new"))
            if kind == "rename" and new is None:
                continue
            if kind in ("create", "switch", "open") and name is None:
                continue
            return Entities(action=kind, list_name=name, new_name=new)
    return Entities(action="show")


def _known(name: str) -> bool:
    return not list_concept(name).startswith("~")


def split_target(text: str) -> tuple[str, str | None]:
    """The list an add names ("add shampoo to the pharmacy list"): the text without those
    words, and the list's name (None when it names none, or names "the list" itself)."""
    nameless: str | None = None
    for pattern in _words().patterns["target"]:
        found = pattern.search(text)
        if found is None:
            continue
        raw = found.group("name")
        end = found.end()
        if found.end("name") == end:
            # An open-ended name ("to the list of the pharmacy shampoo"): the longest known
            # list name at its start; else all of it when it ends the message after items,
            # or its first word when the items follow it.
            taken = raw.split()
            known = next((n for n in range(len(taken), 0, -1)
                          if _known(" ".join(taken[:n]))), None)
            reaches_end = not text[end:].strip(" .!?")
            if known is None:
                known = len(taken) if reaches_end and len(text[:found.start()].split()) >= 2 \
                    else 1
            raw = " ".join(taken[:known])
            end = found.start("name") + len(raw)
        rest = re.sub(r"\s+", " ", f"{text[:found.start()]} {text[end:]}").strip()
        name = clean_name(raw)
        if name is None:
            # "on the list for the pharmacy": "the list" names none; a later pattern may.
            nameless = nameless or rest
            continue
        return rest, name
    return nameless or text, None


def asked_list(text: str) -> str | None:
    """The list a question about the list names ("what's on the pharmacy list?", "show me
    the party list"), or None."""
    name = split_target(text)[1]
    if name is not None:
        return name
    for pattern in _words().patterns["switch"]:
        found = pattern.search(clean_text(text))
        if found is not None:
            return clean_name(found.groupdict().get("name"))
    return None
