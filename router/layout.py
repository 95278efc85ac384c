"""Hebrew typed with the English keyboard layout on: "jkc' kjo" meant "milk, bread" in Hebrew.

A Hebrew speaker who forgets to switch layouts presses the right keys and gets Latin letters.
`retype` gives back the Hebrew those keys make, but only when that is clearly what was meant:

- the message is Latin letters only (no other script, no command, link or mention);
- every converted word is well formed Hebrew: final letters only at a word's end and no
  non-final form ending one (random English breaks this almost always: "o", "i", "l" make
  final letters, and "n", "f", "m", "b" make letters that never end a word);
- the original is not English: at most a quarter of its words are English words;
- the converted text is plausible Hebrew: at least half its words are known Hebrew words,
  or the intent model is sure of it and was not sure of the original.

The key map and both word lists are data (router/data/keyboard_he.json). Stdlib only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from router.languages import read_json

__all__ = ["Keyboard", "keyboard", "retype"]

DATA = Path(__file__).with_name("data") / "keyboard_he.json"
# What may be glued to the front of a Hebrew word ("and-the-milk"): tried off, up to two
# (router/data/lang/he/words.json).
_PREFIXES = str(read_json("he", "words.json")["letter_prefixes"])
_URL_OR_HANDLE = re.compile(r"https?://|www\.|@\w|^/\w", re.IGNORECASE)
_NON_LATIN = re.compile(r"[^\x00-\x7f]")
_LATIN = re.compile(r"[A-Za-z]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_WORD = re.compile(r"[^\W\d_]+")
_SPACES = re.compile(r"(\s+)")
# At most this share of the original's words may be English words.
MAX_ENGLISH = 0.25
# At least this share of the converted words must be known Hebrew words.
MIN_HEBREW = 0.5


@dataclass(frozen=True, slots=True)
class Keyboard:
    """The Hebrew layout's keys and the words that tell Hebrew from English."""

    keys: dict[str, str]
    word_end: dict[str, str]
    finals: str
    non_finals: str
    hebrew: frozenset[str]
    english: frozenset[str]

    def convert(self, text: str) -> str:
        """Text key by key (capitals too: Caps Lock was on)."""
        return "".join(self.keys.get(char, char) for char in text.lower())

    def well_formed(self, word: str) -> bool:
        """Final letters only at the end, and no non-final form at the end."""
        if any(char in self.finals for char in word[:-1]):
            return False
        return not (len(word) > 1 and word[-1] in self.non_finals)

    def known(self, word: str) -> bool:
        """A Hebrew word of the corpus or lexicon, forgiving up to two glued prefixes."""
        rest = word
        for _ in range(3):
            if rest in self.hebrew:
                return True
            if len(rest) < 3 or rest[0] not in _PREFIXES:
                return False
            rest = rest[1:]
        return False


@cache
def keyboard() -> Keyboard:
    """The bundled layout, loaded once."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return Keyboard(keys=dict(data["keys"]), word_end=dict(data["ambiguous_at_word_end"]),
                    finals=str(data["finals"]), non_finals=str(data["non_finals"]),
                    hebrew=frozenset(data["hebrew_words"]),
                    english=frozenset(data["english_words"]))


def _token(board: Keyboard, token: str) -> str:
    """A token's Hebrew; a last key that is punctuation in English and a letter in Hebrew
    ("," is tav, "." is final tsadi) becomes the letter only when that makes a known word,
    or when the word without it is not one."""
    as_letter = board.convert(token)
    if token[-1] not in board.word_end or len(token) == 1:
        return as_letter
    as_mark = board.convert(token[:-1]) + board.word_end[token[-1]]
    words_letter = _WORD.findall(as_letter)
    if words_letter and board.known(words_letter[-1]):
        return as_letter
    words_mark = _WORD.findall(as_mark)
    if words_mark and board.known(words_mark[-1]):
        return as_mark
    return as_letter


def retype(text: str, sure: Callable[[str], bool] | None = None) -> str | None:
    """The Hebrew `text` was meant to be, typed on the wrong layout; None when it was not.

    Args:
        sure: whether the intent model would act on a text by itself; lets a message of
            words outside the word lists count as Hebrew when the model is sure of the
            Hebrew and not of the original.
    """
    stripped = text.strip()
    if (not _LATIN.search(stripped) or _NON_LATIN.search(stripped)
            or _URL_OR_HANDLE.search(stripped)):
        return None
    board = keyboard()
    # Whitespace is kept as typed: a list sent one item a line stays one a line.
    converted = "".join(part if part.isspace() else _token(board, part)
                        for part in _SPACES.split(stripped) if part)
    words = _WORD.findall(converted)
    if not words or sum(len(word) for word in words) < 2:
        return None
    if not all(board.well_formed(word) for word in words):
        return None
    latin = [word.lower() for word in _LATIN_WORD.findall(stripped)]
    english = sum(word in board.english for word in latin)
    if english > MAX_ENGLISH * len(latin):
        return None
    known = sum(board.known(word) for word in words)
    if known and known >= MIN_HEBREW * len(words):
        return converted
    if sure is not None and sure(converted) and not sure(stripped):
        return converted
    return None

