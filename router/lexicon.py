"""The bundled grocery lexicon: items, their spellings in three languages, and one identity each.

Stdlib only and data-driven (router/data/items_*.tsv), so the handlers can group a list by
category and the model's corpus can draw its items from the very same words. Every row names a
`concept`, the item's identity across Hebrew, English and Arabic ("לחם", "bread" and "خبز" are
one concept), so a list matches what people mean, not how each of them spells it. Notes that
ride on an item line (brands, sizes, "low fat") are listed in router/data/item_notes.tsv.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from router.normalize import normalize

__all__ = ["CATEGORIES", "Identity", "Lexicon", "LexiconEntry", "lexicon", "loose_key"]

DATA_DIR = Path(__file__).with_name("data")
LANGUAGES = ("he", "en", "ar")
CATEGORIES = (
    "produce", "dairy", "bakery", "meat_fish", "pantry", "frozen", "drinks", "snacks",
    "spices", "household", "personal_care", "baby", "pets", "other",
)
# A concept outside the lexicon is its words, loosely normalized, behind this mark.
UNKNOWN = "~"

# What a language glues to the front of a word: Hebrew ו/ה/ב/ל/מ/ש/כ (up to two of them:
# "והחלב", "שבלחם"), the Arabic article and its companions ("والخبز", "بالحليب", "للبيض").
_HEBREW_PREFIXES = "והבלמשכ"
_ARABIC_PREFIXES = ("وبال", "وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ف", "ل")
_ENGLISH_LEADS = ("the ", "some ", "a ", "an ")


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One grocery item of one language; `concept` is its identity in every language."""

    name: str
    category: str
    unit: str | None
    lang: str
    concept: str = ""


@dataclass(frozen=True, slots=True)
class Identity:
    """What an item name stands for: a lexicon concept, or its own loose words."""

    concept: str
    known: bool


def _strip_plural(word: str) -> str:
    """A rough singular for words the lexicon does not know, so that "kombuchas" and
    "kombucha", "פסיפלורות" and "פסיפלורה" meet; known words never come here."""
    if word.isascii():
        if len(word) > 4 and word.endswith("ies"):
            return word[:-3] + "y"
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            return word[:-1]
        return word
    if len(word) >= 5 and word[-2:] in ("ים", "ות", "ات"):
        return word[:-2]
    if len(word) >= 4 and word[-1] in "הه":
        return word[:-1]
    return word


def loose_key(name: str) -> str:
    """The loose form of words outside the lexicon: normalized, the Arabic and English article
    dropped (they can only be articles), rough singulars. Hebrew ה is not dropped: in an
    unknown word it may be the word's own first letter."""
    text = normalize(name)
    for lead in _ENGLISH_LEADS:
        if text.startswith(lead) and len(text) > len(lead) + 1:
            text = text[len(lead):]
            break
    words = []
    for word in text.split():
        for article in ("وال", "بال", "ال"):
            if word.startswith(article) and len(word) - len(article) >= 3:
                word = word[len(article):]
                break
        words.append(_strip_plural(word))
    return " ".join(words)


class Lexicon:
    """Looks items up by any of their spellings (compared normalized), in any language."""

    def __init__(self, entries: list[tuple[LexiconEntry, list[str]]],
                 notes: dict[str, str] | None = None) -> None:
        self._by_key: dict[str, LexiconEntry] = {}
        self._by_concept: dict[str, list[LexiconEntry]] = {}
        self._forms: dict[str, set[str]] = {}
        self.entries: list[LexiconEntry] = []
        self.max_words = 1
        for entry, variants in entries:
            self.entries.append(entry)
            concept = entry.concept or entry.name
            self._by_concept.setdefault(concept, []).append(entry)
            for spelling in [entry.name, *variants]:
                key = normalize(spelling)
                if key:
                    self._by_key.setdefault(key, entry)
                    self._forms.setdefault(concept, set()).add(key)
                    self.max_words = max(self.max_words, len(key.split()))
        # Normalized note phrase -> "brand" or "note" (a size, a fat level, "organic").
        self.notes: dict[str, str] = dict(notes or {})

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> Lexicon:
        """Read every `items_<lang>.tsv` and `item_notes.tsv` under data_dir."""
        entries: list[tuple[LexiconEntry, list[str]]] = []
        for lang in LANGUAGES:
            path = data_dir / f"items_{lang}.tsv"
            if not path.exists():
                continue
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle, delimiter="\t"):
                    name = (row.get("name") or "").strip()
                    if not name:
                        continue
                    category = (row.get("category") or "other").strip()
                    if category not in CATEGORIES:
                        category = "other"
                    unit = (row.get("unit") or "").strip() or None
                    variants = [v.strip() for v in (row.get("variants") or "").split(",")]
                    concept = (row.get("concept") or "").strip() or name
                    entry = LexiconEntry(name=name, category=category, unit=unit, lang=lang,
                                         concept=concept)
                    entries.append((entry, [v for v in variants if v]))
        notes: dict[str, str] = {}
        path = data_dir / "item_notes.tsv"
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    kind, _, phrase = line.partition("\t")
                    if normalize(phrase):
                        notes[normalize(phrase)] = kind.strip()
        return cls(entries, notes)

    def find(self, name: str) -> LexiconEntry | None:
        """The entry for a spelling, or None when the item is not in the lexicon."""
        return self._by_key.get(normalize(name))

    def knows(self, name: str) -> bool:
        """Whether a spelling names a known item."""
        return normalize(name) in self._by_key

    def canonical(self, name: str) -> str:
        """The lexicon's own name for a spelling, or the spelling itself."""
        entry = self.find(name)
        return entry.name if entry else name

    def category(self, name: str) -> str:
        """The shelf category of an item; `other` when unknown."""
        entry = self.lookup(name)
        return entry.category if entry else "other"

    def names(self, lang: str) -> list[LexiconEntry]:
        """Every entry of one language, in file order."""
        return [entry for entry in self.entries if entry.lang == lang]

    def lookup(self, name: str) -> LexiconEntry | None:
        """The entry for a spelling, forgiving what a language glues to its front ("והחלב",
        "بالحليب", "the milk") when what is left is a known spelling."""
        key = normalize(name)
        found = self._by_key.get(key)
        if found or not key:
            return found
        for lead in _ENGLISH_LEADS:
            if key.startswith(lead) and key[len(lead):] in self._by_key:
                return self._by_key[key[len(lead):]]
        for article in _ARABIC_PREFIXES:
            rest = key[len(article):]
            if key.startswith(article) and len(rest) >= 2 and rest in self._by_key:
                return self._by_key[rest]
        rest = key
        for _ in range(2):
            if len(rest) < 3 or rest[0] not in _HEBREW_PREFIXES:
                break
            rest = rest[1:]
            if rest in self._by_key:
                return self._by_key[rest]
        return None

    def identify(self, name: str) -> Identity:
        """The concept a name stands for: the lexicon's, in any language and form; for a name
        outside it, its own loose words (`~` + `loose_key`)."""
        entry = self.lookup(name)
        if entry is not None:
            return Identity(entry.concept or entry.name, True)
        return Identity(UNKNOWN + loose_key(name), False)

    def word(self, concept: str, lang: str) -> str | None:
        """The concept's name in a language, for a reader of that language; None if none."""
        for entry in self._by_concept.get(concept, ()):
            if entry.lang == lang:
                return entry.name
        return None

    def forms(self, concept: str) -> frozenset[str]:
        """Every normalized spelling of a concept in every language (empty when unknown)."""
        if concept.startswith(UNKNOWN):
            return frozenset({concept[len(UNKNOWN):]})
        return frozenset(self._forms.get(concept, ()))

    def concept_category(self, concept: str) -> str:
        """The shelf category of a concept; `other` for words outside the lexicon."""
        entries = self._by_concept.get(concept)
        return entries[0].category if entries else "other"


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The bundled lexicon, loaded once per process."""
    return Lexicon.load()
