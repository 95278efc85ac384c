"""One text normalization for training and runtime.

The model directory's config.json names the normalization it was trained with
(`NORMALIZATION_NAME`), and the router applies exactly that before tokenizing, so the
model never sees text shaped differently from its corpus.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "NORMALIZATION_NAME",
    "arabic_digits_to_ascii",
    "clean_text",
    "detect_language",
    "normalize",
    "strip_marks",
]

NORMALIZATION_NAME = "shopbot-v1"

# Zero-width and bidi controls: invisible, yet they split words for a tokenizer and would
# make "חלב" and "\u200fחלב" two different items on the list. C0 and C1 control characters
# too (NUL, bell, escape…; the whitespace ones stay for the space rule): nothing a person
# means, and PostgreSQL cannot even store a NUL.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
                       "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# Hebrew points and cantillation (niqqud), keeping maqaf (05BE), paseq and sof pasuq.
_HEBREW_MARKS = re.compile("[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")
# Arabic harakat, superscript alef, Quranic marks and tatweel.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"})
_ARABIC_FOLD = str.maketrans({"ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_QUOTES = str.maketrans({"⁄": "/", "׳": "'", "’": "'", "‘": "'", "`": "'", "״": '"', "“": '"',
                         "”": '"'})
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w{3,}")
_REPEATS = re.compile(r"(\D)\1{2,}")
_SPACES = re.compile(r"\s+")
_HEBREW = re.compile("[\u05d0-\u05ea]")
_ARABIC = re.compile("[\u0620-\u064a]")
_LATIN = re.compile("[A-Za-z]")

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


def normalize(text: str) -> str:
    """The model's normalization (`shopbot-v1`).

    NFKC; niqqud, harakat and tatweel stripped; Arabic alef, ta marbuta and alef maqsura
    unified; zero-width and bidi controls removed; URLs and mentions replaced by
    placeholders; letters repeated three times or more squeezed to two; Latin lowercased.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(f" {URL_TOKEN} ", text)
    text = _MENTION.sub(f" {MENTION_TOKEN} ", text)
    text = strip_marks(text).translate(_ALEF).translate(_ARABIC_FOLD)
    text = text.translate(_DIGITS).translate(_QUOTES).lower()
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


def detect_language(text: str, hint: str | None = None) -> str:
    """`he`, `ar` or `en` by the script the message is written in.

    Hebrew wins over Latin words inside it (families mix them freely); a message with no
    letters at all (an emoji, a number) falls back to the hint, then to Hebrew.
    """
    text = _URL.sub(" ", text)
    hebrew = len(_HEBREW.findall(text))
    arabic = len(_ARABIC.findall(text))
    latin = len(_LATIN.findall(text))
    if hebrew == arabic == latin == 0:
        if hint:
            short = hint.lower()[:2]
            if short in ("he", "iw"):
                return "he"
            if short in ("ar", "en"):
                return short
        return "he"
    if hebrew >= arabic and hebrew * 3 >= latin:
        return "he"
    if arabic > hebrew and arabic * 3 >= latin:
        return "ar"
    return "en"
