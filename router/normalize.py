"""One text normalization for training and runtime.

The model directory's config.json names the normalization it was trained with
(`NORMALIZATION_NAME`), and the router applies exactly that before tokenizing, so the
model never sees text shaped differently from its corpus.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

from router.languages import default_language, languages, script_class

__all__ = [
    "NORMALIZATION_NAME",
    "arabic_digits_to_ascii",
    "clean_text",
    "detect_language",
    "has_letters",
    "normalize",
    "strip_marks",
]

NORMALIZATION_NAME = "shopbot-v1"

# Zero-width and bidi controls: invisible, yet they split words for a tokenizer and would
# make "milk" and "\u200fmilk" two different items on the list. C0 and C1 control characters
# too (NUL, bell, escape…; the whitespace ones stay for the space rule): nothing a person
# means, and PostgreSQL cannot even store a NUL.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
                       "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# Hebrew points and cantillation (niqqud), keeping maqaf (05BE), paseq and sof pasuq.
_HEBREW_MARKS = re.compile("[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")
# Arabic harakat, superscript alef, Quranic marks and tatweel.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Alef with hamza above or below, with madda, and alef wasla: plain alef.
_ALEF = str.maketrans({"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627",
                       "\u0671": "\u0627"})
# Alef maqsura to ya, ta marbuta to ha, hamza on waw and on ya to their seats.
_ARABIC_FOLD = str.maketrans({"\u0649": "\u064a", "\u0629": "\u0647", "\u0624": "\u0648",
                              "\u0626": "\u064a"})
# Arabic-Indic and Persian digits.
_DIGITS = str.maketrans("\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
                        "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9",
                        "01234567890123456789")
# Fraction slash; Hebrew geresh and gershayim and typographic quotes: ASCII quotes.
_QUOTES = str.maketrans({"\u2044": "/", "\u05f3": "'", "\u2019": "'", "\u2018": "'", "`": "'",
                         "\u05f4": '"', "\u201c": '"', "\u201d": '"'})
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w{3,}")
_REPEATS = re.compile(r"(\D)\1{2,}")
_SPACES = re.compile(r"\s+")

URL_TOKEN = "<url>"
MENTION_TOKEN = "<mention>"


def arabic_digits_to_ascii(text: str) -> str:
    """Arabic-Indic and Persian digits as ASCII digits."""
    return text.translate(_DIGITS)


def strip_marks(text: str) -> str:
    """Remove niqqud, harakat, tatweel and invisible controls; keep everything else."""
    text = _CONTROLS.sub("", text)
    text = _HEBREW_MARKS.sub("", text)
    return _ARABIC_MARKS.sub("", text)


def clean_text(text: str) -> str:
    """The gentle cleaning used for stored names and entities: what the user meant, minus
    invisible characters and diacritics, with NFKC forms, ASCII digits and plain quotes."""
    text = unicodedata.normalize("NFKC", text)
    text = strip_marks(text).translate(_DIGITS).translate(_QUOTES)
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """The model's normalization (`shopbot-v1`).

    NFKC; niqqud, harakat and tatweel stripped; Arabic alef, ta marbuta and alef maqsura
    unified; zero-width and bidi controls removed; URLs and mentions replaced by
    placeholders; letters repeated three times or more squeezed to two; Latin lowercased.

    Remembered for the latest few thousand texts (in memory only): routing one message
    normalizes its words and phrases dozens of times (issue 11's profile).
    """
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(f" {URL_TOKEN} ", text)
    text = _MENTION.sub(f" {MENTION_TOKEN} ", text)
    text = strip_marks(text).translate(_ALEF).translate(_ARABIC_FOLD)
    text = text.translate(_DIGITS).translate(_QUOTES).lower()
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


@cache
def _scripts() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each registered language's letters, the fallback (Latin) language's last."""
    ordered = sorted(languages(), key=lambda lang: lang.fallback)
    return tuple((lang.code, re.compile(script_class(lang))) for lang in ordered)


@cache
def _any_letter() -> re.Pattern[str]:
    return re.compile("|".join(pattern.pattern for _code, pattern in _scripts()))


def has_letters(text: str) -> bool:
    """Whether the text holds a letter of any registered language's script (not only an
    emoji, a number or punctuation)."""
    return _any_letter().search(text) is not None


def _from_hint(hint: str | None) -> str:
    short = (hint or "").lower()[:2]
    for lang in languages():
        if short and short in lang.hints:
            return lang.code
    return default_language().code


def detect_language(text: str, hint: str | None = None) -> str:
    """The registered language whose script the message is written in (router/languages.py).

    The script with the most letters wins, ties going to the earlier language; it wins over
    Latin words inside it (families mix them freely) unless they are over three times as
    many, then the message is the fallback language's (English). A message with no letters at
    all (an emoji, a number) falls back to the hint, then to the default language (Hebrew).
    """
    text = _URL.sub(" ", text)
    *scripts, (fallback, latin_letters) = _scripts()
    latin = len(latin_letters.findall(text))
    best, most = fallback, 0
    for code, letters in scripts:
        count = len(letters.findall(text))
        if count > most:
            best, most = code, count
    if most == 0 and latin == 0:
        return _from_hint(hint)
    return best if most and most * 3 >= latin else fallback
