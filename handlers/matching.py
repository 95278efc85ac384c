"""Which list lines a name means: by concept, then by words, then by a fuzzy score.

A name is matched by what it stands for, not by its letters: the Hebrew, English and Arabic
words for bread are one concept in the lexicon. Inside a concept a note ("3%", a brand) narrows
the lines down. A line that is a kind of the named thing ("soy milk" for "milk") may
be meant too, so the bot asks which one instead of guessing. Words outside the
lexicon meet by their loose form, then by rapidfuzz's ratio, never by a hand-made distance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from db.models import Item as ItemRow
from router.languages import fallback_language, script_language
from router.lexicon import lexicon, loose_key
from router.normalize import clean_text, detect_language, normalize
from router.types import Item

__all__ = [
    "FUZZY",
    "MAX_NAME",
    "Wanted",
    "find_lines",
    "fuzzy_concept",
    "fuzzy_lines",
    "reader_word",
    "same_note",
    "wanted",
]

MAX_NAME = 100
MAX_NOTE = 100
# rapidfuzz ratio (0-100) from which a name outside the lexicon is taken for a line's name;
# lines scoring this close to the best one are all offered.
FUZZY = 85
CLOSE = 6


@dataclass(frozen=True, slots=True)
class Wanted:
    """An item as a message names it: the author's words, its concept, amount and note."""

    name: str
    concept: str
    known: bool
    quantity: float | None
    unit: str | None
    note: str | None

    def to_json(self) -> dict[str, object]:
        """What a question keeps of it until a button answers."""
        return {"name": self.name, "concept": self.concept, "known": self.known,
                "quantity": self.quantity, "unit": self.unit, "note": self.note}

    @staticmethod
    def from_json(data: dict[str, object]) -> Wanted:
        """The inverse of `to_json`."""
        quantity = data.get("quantity")
        return Wanted(str(data["name"]), str(data["concept"]), bool(data.get("known")),
                      float(quantity) if isinstance(quantity, (int, float)) else None,
                      str(data["unit"]) if data.get("unit") else None,
                      str(data["note"]) if data.get("note") else None)


def wanted(item: Item) -> Wanted | None:
    """The identity of a parsed item; None when nothing of its name is left."""
    name = clean_text(item.name)[:MAX_NAME].strip()
    if not name:
        return None
    note = clean_text(item.note or "")[:MAX_NOTE].strip() or None
    lex = lexicon()
    if lex.find(name + "'") is not None:
        # A Hebrew geresh ends some words (cottage cheese) and is lost with the quotes around
        # words.
        name += "'"
    identity = lex.identify(name)
    if note:
        # Hebrew "cheese 5%" names white cheese, not some cheese with a note: a percentage can be
        # part of an item's own name in the lexicon.
        for piece in re.split("[,\u060c] ", note):
            if piece.endswith("%") and lex.identify(f"{name} {piece}").known:
                identity = lex.identify(f"{name} {piece}")
                break
    return Wanted(name, identity.concept, identity.known, item.quantity, item.unit, note)


def same_note(first: str | None, second: str | None) -> bool:
    """Whether two notes say the same thing (compared normalized)."""
    return normalize(first or "") == normalize(second or "")


def _forms(item: Wanted) -> set[str]:
    forms = set(lexicon().forms(item.concept)) if item.known else {loose_key(item.name)}
    forms.add(normalize(item.name))
    return {form for form in forms if form}


def _kind_of(line: str, form: str) -> bool:
    """Whether a line's name is a kind of the thing `form` names: the form is the name's
    head, which comes last in English ("soy milk") and first in Hebrew and Arabic ("milk
    soy"): the line's language says (its `language.json` "head"). A form that only qualifies
    the head ("tomato paste") does not make the line a kind of it."""
    words, part = line.split(), form.split()
    if len(words) <= len(part):
        return False
    return (words[-len(part):] if _head_last(line) else words[:len(part)]) == part


def _head_last(line: str) -> bool:
    if line.isascii():
        return fallback_language().head == "last"
    # Letters of another script than Latin decide; a line of accented Latin alone keeps
    # the head first, as it always has.
    lang = script_language(line)
    return lang is not None and lang.head == "last"


def _names(name: str, concept: str) -> set[str]:
    names = {normalize(name), loose_key(name)}
    names |= set(lexicon().forms(concept))
    return {name for name in names if name}


def _score(item: Wanted, row: ItemRow) -> float:
    return _name_score(item, row.name, row.concept)


def _name_score(item: Wanted, name: str, concept: str) -> float:
    mine = {normalize(item.name), loose_key(item.name)}
    best = 0.0
    for a in mine:
        for b in _names(name, concept):
            # A misspelling keeps its first letter: "goat milk" is no typo of "oat milk".
            if a and b and a[0] == b[0] and min(len(a), len(b)) >= 4:
                best = max(best, fuzz.ratio(a, b))
    return best


def fuzzy_lines(rows: Sequence[ItemRow], item: Wanted) -> list[ItemRow]:
    """Lines whose name is close to the item's by rapidfuzz's ratio, best first: the best
    one and those scoring nearly as well."""
    scored = sorted(((_score(item, row), row.id, row) for row in rows), reverse=True,
                    key=lambda entry: (entry[0], -entry[1]))
    scored = [entry for entry in scored if entry[0] >= FUZZY]
    if not scored:
        return []
    best = scored[0][0]
    return [row for score, _id, row in scored if score >= best - CLOSE]


def fuzzy_concept(item: Wanted, named: Sequence[tuple[str, str]]) -> str | None:
    """The one concept among (name, concept) pairs whose name is close to the item's by
    rapidfuzz's ratio ("suger" for the sugar once on the list); None when none is, or when
    two concepts are nearly as close (the caller cannot tell which was meant)."""
    scored = sorted({(_name_score(item, name, concept), concept) for name, concept in named},
                    reverse=True)
    scored = [entry for entry in scored if entry[0] >= FUZZY]
    if not scored or any(concept != scored[0][1] and score >= scored[0][0] - CLOSE
                         for score, concept in scored):
        return None
    return scored[0][1]


def find_lines(rows: Sequence[ItemRow], item: Wanted) -> list[ItemRow]:
    """The open lines a name may mean, the surest first: its concept's lines (only those with
    its note, when it gives one that a line has), then lines that are a kind of it, then,
    when neither is there, the fuzzy matches. One line is an answer; several a question."""
    exact = [row for row in rows if row.concept == item.concept]
    if item.note:
        noted = [row for row in exact if same_note(row.note, item.note)]
        if noted:
            return noted
    forms = _forms(item)
    wider = [row for row in rows if row not in exact
             and any(_kind_of(normalize(row.name), form) for form in forms)]
    if exact or wider:
        return [*exact, *wider]
    return fuzzy_lines(rows, item)


def reader_word(name: str, concept: str, lang: str) -> str | None:
    """The reader's own word for a line written in another language (the Hebrew word for a
    Hebrew reader of the Arabic "bread"); None when the line is already in their language or
    has no such word."""
    word = lexicon().word(concept, lang)
    if word is None or normalize(word) == normalize(name):
        return None
    if detect_language(name) == lang:
        return None
    return word
