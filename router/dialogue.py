"""Dialogue in words: answers to the question the bot asked, and "undo" said in words.

When the bot has asked something with buttons ("mark 5 items bought?", "which milk?", a dish's
ingredients, "did you mean…"), the member it asked may answer in words: "yes", "כן", "اه",
"no", "the second one", "השני", "the soy one", "זה של הסויה", "add them all", "ضيفهم كلهم".
`read_answer` says which button such words press, or None when they are a new message.
`is_undo` knows "cancel that", "תחזיר את מה שמחקת", "رجّع القائمة" as a whole message.
The words live in `router/data/dialogue.json`; nothing here knows Telegram or the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from router.normalize import normalize

__all__ = ["Choice", "DialogueWords", "dialogue_words", "is_undo", "read_answer"]

DATA = Path(__file__).with_name("data") / "dialogue.json"
# Longer than this, a message is something new, not an answer to a question.
MAX_ANSWER_WORDS = 6
_PUNCT = re.compile(r"[^\w\s']+")  # Hebrew and Arabic letters are \w; "،" and "؟" are not
_MENTION = re.compile(r"@\w+")
# Prefixes people glue to a word: the article and "and"/"of"/"to" (ה, ו, ש, ל, ال, و, ل, ب).
_PREFIXES = ("וה", "שה", "לה", "ה", "ו", "ש", "ל", "وال", "بال", "ال", "لل", "و", "ل", "ب")


@dataclass(frozen=True, slots=True)
class DialogueWords:
    """The word lists of `dialogue.json`, normalized, all languages together."""

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


def _phrases(section: dict[str, list[str]]) -> frozenset[str]:
    return frozenset(_clean(p) for values in section.values() for p in values)


@cache
def dialogue_words() -> DialogueWords:
    """The bundled word lists (read once)."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    undo = raw["undo"]

    def longest_first(section: dict[str, list[str]]) -> tuple[str, ...]:
        return tuple(sorted(_phrases(section), key=len, reverse=True))

    return DialogueWords(
        yes=_phrases(raw["yes"]),
        no=_phrases(raw["no"]),
        all=_phrases(raw["all"]),
        ordinals={_clean(word): int(n) for values in raw["ordinals"].values()
                  for word, n in values.items()},
        frame=_phrases(raw["frame"]),
        fillers=longest_first(raw["fillers"]),
        undo_verbs=_phrases(undo["verbs"]),
        undo_objects=_phrases(undo["objects"]),
        undo_phrases=_phrases(undo["phrases"]),
        undo_openers=longest_first(undo["openers"]),
        undo_split_verbs=tuple((_clean(a), _clean(b)) for values in undo["split_verbs"].values()
                               for a, b in values),
    )


def _clean(text: str) -> str:
    """Normalized, without mentions, punctuation or emoji, hyphens as spaces ("ה-2")."""
    text = _MENTION.sub(" ", text)
    text = normalize(text.replace("-", " ").replace("־", " "))
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


def is_undo(text: str) -> bool:
    """Whether a whole message asks to take back the sender's last change.

    "undo", "cancel that", "בטל את זה", "תחזיר את מה שמחקת", "رجّع القائمة", "الغي آخر شي":
    an undo verb alone or with one object, or a known phrase, with "please" or "oops" around
    it. Anything longer ("cancel the invite code", "تبطل الاشعارات") is left to the router.
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
    for prefix in _PREFIXES:
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
