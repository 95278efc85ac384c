"""What a question about the list's history names: an item, a period, or both.

"who added the milk?", "what did we buy last week?" (and the same in every language): the
period's phrase is found first (each language's `words.json` → `history.periods`), then the
question's own words (`history.noise`) are dropped, and what is left is the item: the longest
run of words the lexicon knows, or (when no period is named) up to three words it does not.
"""

from __future__ import annotations

import re
from functools import cache

from router.languages import codes, read_json
from router.lexicon import lexicon
from router.normalize import normalize

__all__ = ["PERIODS", "asks_who", "asks_who_changed", "history_entities"]

# The periods a question can name; `week` is the last 7 days and `month` the last 30, since a
# family asking "what did we buy last week" means the shopping of about a week back.
PERIODS = ("today", "yesterday", "week", "month")
# An item outside the lexicon is at most this many words; more is the rest of a sentence.
MAX_LOOSE_WORDS = 3
_PUNCT = re.compile(r"[?!.,;:\u061f\u060c\"'()]+")


@cache
def _periods() -> list[tuple[str, re.Pattern[str]]]:
    phrases: list[tuple[str, str]] = []
    for code in codes():
        for period, words in read_json(code, "words.json").get("history", {}).get(
                "periods", {}).items():
            phrases.extend((period, normalize(word)) for word in words if period in PERIODS)
    # The longest phrase first: "last week" before "week".
    phrases.sort(key=lambda pair: -len(pair[1]))
    return [(period, re.compile(rf"(?<!\S){re.escape(phrase)}(?!\S)"))
            for period, phrase in phrases]


@cache
def _words(key: str) -> frozenset[str]:
    """One list of every language's `words.json` → `history` (`noise`, `who`, `changes`)."""
    return frozenset(normalize(word) for code in codes()
                     for word in read_json(code, "words.json").get("history", {}).get(key, []))


def _opening(text: str, count: int) -> list[str]:
    """A message's first words, without punctuation (a dash splits words: Hebrew "and-who")."""
    return normalize(_PUNCT.sub(" ", text.replace("-", " "))).split()[:count]


def asks_who(text: str) -> bool:
    """Whether a message opens by asking who did something ("who deleted the sugar?",
    "oh and who…", a Hebrew "and-who" glued or after a dash): one of its first three
    words, or two of them, is a `who` word."""
    words = _opening(text, 3)
    return any(" ".join(words[i:i + size]) in _words("who")
               for size in (1, 2) for i in range(len(words) - size + 1))


def asks_who_changed(text: str) -> bool:
    """Whether a message asks who changed the list: it opens asking who (`asks_who`) and a
    past-tense verb of changing the list (`history.changes`) follows within its first five
    words ("who deleted the avocados??", "lol who added 5 lbs of potatoes?"). Only a change
    already made is asked about: "who can add milk?" has no such verb."""
    return asks_who(text) and bool(set(_opening(text, 5)) & _words("changes"))


def _item(words: list[str], loose: bool) -> str | None:
    lex = lexicon()
    for size in range(min(3, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start:start + size])
            if lex.lookup(phrase) is not None:
                return phrase
    if loose and 0 < len(words) <= MAX_LOOSE_WORDS:
        return " ".join(words)
    return None


def history_entities(text: str) -> tuple[str | None, str | None]:
    """(item, period) named by a history question; either may be None."""
    rest = f" {normalize(_PUNCT.sub(' ', text))} "
    period: str | None = None
    for name, pattern in _periods():
        if pattern.search(rest):
            period = period or name
            rest = pattern.sub(" ", rest)
    noise = _words("noise")
    words = [word for word in rest.split() if word not in noise and not word.startswith("/")]
    # Beside a period, words outside the lexicon are rather a name or a verb ("what did Dana
    # buy yesterday?") than an item.
    return _item(words, loose=period is None), period
