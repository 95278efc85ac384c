"""Dialogue in words: answers to the question the bot asked, and "undo" said in words.

When the bot has asked something with buttons ("mark 5 items bought?", "which milk?", a dish's
ingredients, "did you mean…"), the member it asked may answer in words, in any registered
language: "yes", "no", "the second one", "the soy one", "add them all".
`read_answer` says which button such words press, or None when they are a new message.
`is_undo` knows "cancel that", "bring back what you deleted" as a whole message, and
`items_bought` "bought milk", "I got the eggs and the bread" (tick those lines).
The words live in each language's `router/data/lang/<code>/dialogue.json`; nothing here knows
Telegram or the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from router.clauses import clauses
from router.entities import bought_items
from router.languages import codes, read_json
from router.normalize import has_letters, normalize
from router.types import Item

__all__ = ["Choice", "DialogueWords", "dialogue_words", "is_undo", "items_bought", "read_answer"]

DATA = "dialogue.json"
# Longer than this, a message is something new, not an answer to a question.
MAX_ANSWER_WORDS = 6
# Every script's letters are \w; the Arabic comma and question mark are not.
_PUNCT = re.compile(r"[^\w\s']+")
_MENTION = re.compile(r"@\w+")
_MAQAF = "\u05be"  # the Hebrew hyphen


@dataclass(frozen=True, slots=True)
class DialogueWords:
    """The word lists of every language's `dialogue.json`, normalized, all together."""

    yes: frozenset[str]
    no: frozenset[str]
    all: frozenset[str]
    ordinals: dict[str, int]
    frame: frozenset[str]
    fillers: tuple[str, ...]  # longest first, so "thank you" goes before "thank"
    undo_verbs: frozenset[str]
    undo_objects: frozenset[str]
    undo_phrases: frozenset[str]
    undo_openers: tuple[str, ...]
    undo_split_verbs: tuple[tuple[str, str], ...]
    # Prefixes people glue to a word: the article and "and"/"of"/"to", longer ones first
    # within each language.
    prefixes: tuple[str, ...]


@cache
def dialogue_words() -> DialogueWords:
    """The bundled word lists of every registered language (read once)."""
    raws: list[dict[str, Any]] = [read_json(code, DATA) for code in codes()]

    def phrases(key: str, undo: bool = False) -> frozenset[str]:
        return frozenset(_clean(p) for raw in raws for p in (raw["undo"] if undo else raw)[key])

    def longest_first(key: str, undo: bool = False) -> tuple[str, ...]:
        return tuple(sorted(phrases(key, undo), key=len, reverse=True))

    return DialogueWords(
        yes=phrases("yes"),
        no=phrases("no"),
        all=phrases("all"),
        ordinals={_clean(word): int(n) for raw in raws for word, n in raw["ordinals"].items()},
        frame=phrases("frame"),
        fillers=longest_first("fillers"),
        undo_verbs=phrases("verbs", undo=True),
        undo_objects=phrases("objects", undo=True),
        undo_phrases=phrases("phrases", undo=True),
        undo_openers=longest_first("openers", undo=True),
        undo_split_verbs=tuple((_clean(a), _clean(b)) for raw in raws
                               for a, b in raw["undo"]["split_verbs"]),
        prefixes=tuple(p for raw in raws for p in raw["prefixes"]),
    )


def _clean(text: str) -> str:
    """Normalized, without mentions, punctuation or emoji, hyphens as spaces ("the-2")."""
    text = _MENTION.sub(" ", text)
    text = normalize(text.replace("-", " ").replace(_MAQAF, " "))
    return " ".join(_PUNCT.sub(" ", text).split())


def _strip_edges(text: str, words: tuple[str, ...]) -> str:
    """Drop the given words from both ends of a text, as often as they appear."""
    changed = True
    while changed and text:
        changed = False
        for word in words:
            if text == word:
                break
            if text.startswith(word + " "):
                text, changed = text[len(word) + 1:], True
            elif text.endswith(" " + word):
                text, changed = text[: -len(word) - 1], True
    return text


def items_bought(text: str) -> tuple[Item, ...] | None:
    """The items a whole message says were just bought ("bought milk", "I got the eggs and
    the bread", in every language): `router.entities.bought_items`, when nothing after them
    opens a request of its own. "Bought milk and add eggs" is None: a message of several
    requests is the router's to cut, as before."""
    items = bought_items(text)
    if items is None:
        return None
    worded = [clause for clause in clauses(text) if has_letters(text[clause.start:clause.end])]
    # After the items, a clause that opens a request ("..., and add eggs") is another
    # request; "thanks" is none, nor is a leading emoji the splitter cut off (no letters).
    return None if any(clause.opens and not _fillers_only(text[clause.start:clause.end])
                       for clause in worded[1:]) else items


def _fillers_only(text: str) -> bool:
    """Whether words say nothing but "thanks", "please" (`dialogue.json` fillers)."""
    fillers = dialogue_words().fillers
    said = _clean(text)
    return said in fillers or _strip_edges(said, fillers) == ""


def is_undo(text: str) -> bool:
    """Whether a whole message asks to take back the sender's last change.

    "undo", "cancel that", "bring back what you deleted", "cancel the last thing": an undo
    verb alone or with one object, or a known phrase, with "please" or "oops" around it.
    Anything longer ("cancel the invite code", "stop the notifications") is left to the router.
    """
    words = dialogue_words()
    said = _strip_edges(_clean(text), words.fillers)
    said = _strip_edges(said, words.undo_openers)
    said = _strip_edges(said, words.fillers)
    if not said:
        return False
    if said in words.undo_phrases or said in words.undo_verbs:
        return True
    for verb in words.undo_verbs:
        if said.startswith(verb + " ") and said[len(verb) + 1:] in words.undo_objects:
            return True
    for verb, particle in words.undo_split_verbs:  # "bring the list back"
        if said.startswith(verb + " ") and said.endswith(" " + particle) and said[
                len(verb) + 1:-len(particle) - 1] in words.undo_objects:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Choice:
    """One button of a question as words can name it: its role and its label as shown."""

    role: str  # handlers.reply.Role's values: "yes", "no", "all", "option"
    label: str


def _bare(word: str) -> str:
    for prefix in dialogue_words().prefixes:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix):]
    return word


def _same_word(said: str, shown: str) -> bool:
    if said == shown or _bare(said) == _bare(shown) or _bare(said) == shown \
            or said == _bare(shown):
        return True
    short, long_ = sorted((_bare(said), _bare(shown)), key=len)
    return len(short) >= 3 and long_.startswith(short)  # "soy" / "soya", "tomato" / "tomatoes"


def _by_role(choices: Sequence[Choice], role: str) -> list[int]:
    return [index for index, choice in enumerate(choices) if choice.role == role]


def read_answer(text: str, choices: Sequence[Choice]) -> int | None:
    """Which of a question's buttons the words press, or None if they are a new message.

    "yes" presses the YES button; "no" the NO button; "add them all" the ALL button; "the
    second one" the second OPTION; "milk" the OPTION labelled so, and "the soy one" the one
    OPTION whose label has those words.
    """
    words = dialogue_words()
    said = _strip_edges(_clean(text), words.fillers)
    if not said or len(said.split()) > MAX_ANSWER_WORDS:
        return None

    def only(role: str) -> int | None:
        found = _by_role(choices, role)
        return found[0] if len(found) == 1 else None

    if said in words.yes:
        return only("yes")
    if said in words.no:
        return only("no")
    if said in words.all:
        return only("all")
    options = _by_role(choices, "option")
    if not options:
        return None
    content = [w for w in said.split() if w not in words.frame]
    if len(content) == 1 and (content[0] in words.ordinals or content[0].isdigit()):
        number = words.ordinals.get(content[0]) or int(content[0])
        if number == -1:
            return options[-1]
        return options[number - 1] if 1 <= number <= len(options) else None
    if not content:
        return None
    exact = [index for index in options
             if [_bare(w) for w in _clean(choices[index].label).split()]
             == [_bare(w) for w in content]]
    if len(exact) == 1:
        return exact[0]
    named = [index for index in options
             if all(any(_same_word(w, shown) for shown in _clean(choices[index].label).split())
                    for w in content)]
    return named[0] if len(named) == 1 else None
