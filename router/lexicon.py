"""The bundled grocery lexicon: items, their spellings in every language, and one identity each.

Stdlib only and data-driven (router/data/lang/<code>/items.tsv), so the handlers can group a
list by category and the model's corpus can draw its items from the very same words. Every row
names a `concept`, the item's identity across languages (the Hebrew, English and Arabic words
for bread are one concept), so a list matches what people mean, not how each of them spells it.
Notes that ride on an item line (brands, sizes, "low fat") are in each language's
item_notes.tsv; what a language glues to the front of a word, and its rough plurals, are in its
words.json (router/data/lang/README.md).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from router.languages import LANG_DIR, codes, read_json
from router.normalize import normalize

__all__ = ["CATEGORIES", "Identity", "Lexicon", "LexiconEntry", "lexicon", "loose_key"]

DATA_DIR = LANG_DIR
CATEGORIES = (
    "produce", "dairy", "bakery", "meat_fish", "pantry", "frozen", "drinks", "snacks",
    "spices", "household", "personal_care", "baby", "pets", "other",
)
# A concept outside the lexicon is its words, loosely normalized, behind this mark.
UNKNOWN = "~"



@dataclass(frozen=True, slots=True)
class _Affixes:
    """What the registered languages glue to words (their words.json), all joined in order."""

    # Leading words that are articles, with their space ("the ", "some ").
    leads: tuple[str, ...]
    # Prefixes dropped when what remains is a known spelling (the Arabic article and company).
    prefixes: tuple[str, ...]
    # Single letters glued to the front, up to `letter_count` of them (Hebrew and, the, to...).
    letters: str
    letter_count: int
    # Articles dropped from words outside the lexicon when 3+ letters remain.
    articles: tuple[str, ...]
    # Endings of rough plurals (dropped from unknown words of 5+ letters) and final letters
    # dropped from unknown words of 4+ letters.
    plurals: tuple[str, ...]
    endings: str


@cache
def _affixes() -> _Affixes:
    words = [read_json(code, "words.json") for code in codes()]
    return _Affixes(
        leads=tuple(lead for w in words for lead in w["lead_words"]),
        prefixes=tuple(p for w in words for p in w["prefixes"]),
        letters="".join(w["letter_prefixes"] for w in words),
        letter_count=max([int(w["max_letter_prefixes"]) for w in words] or [0]),
        articles=tuple(a for w in words for a in w["loose_articles"]),
        plurals=tuple(p for w in words for p in w["plural_suffixes"]),
        endings="".join(e for w in words for e in w["singular_endings"]),
    )


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
    "kombucha" (and a Hebrew plural and its singular) meet; known words never come here."""
    if word.isascii():
        if len(word) > 4 and word.endswith("ies"):
            return word[:-3] + "y"
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            return word[:-1]
        return word
    affixes = _affixes()
    if len(word) >= 5:
        for suffix in affixes.plurals:
            if word.endswith(suffix):
                return word[:-len(suffix)]
    if len(word) >= 4 and word[-1] in affixes.endings:
        return word[:-1]
    return word


def loose_key(name: str) -> str:
    """The loose form of words outside the lexicon: normalized, the Arabic and English article
    dropped (they can only be articles), rough singulars. The Hebrew article is not dropped:
    in an unknown word it may be the word's own first letter."""
    text = normalize(name)
    affixes = _affixes()
    for lead in affixes.leads:
        if text.startswith(lead) and len(text) > len(lead) + 1:
            text = text[len(lead):]
            break
    words = []
    for word in text.split():
        for article in affixes.articles:
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
        """Read every registered language's `items.tsv` and `item_notes.tsv` under data_dir
        (one folder per language)."""
        entries: list[tuple[LexiconEntry, list[str]]] = []
        notes: dict[str, str] = {}
        for lang in codes():
            path = data_dir / lang / "items.tsv"
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
            path = data_dir / lang / "item_notes.tsv"
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
        """The entry for a spelling, forgiving what a language glues to its front ("the milk",
        Hebrew "and the milk", Arabic "with the milk") when what is left is a known spelling."""
        key = normalize(name)
        found = self._by_key.get(key)
        if found or not key:
            return found
        affixes = _affixes()
        for lead in affixes.leads:
            if key.startswith(lead) and key[len(lead):] in self._by_key:
                return self._by_key[key[len(lead):]]
        for article in affixes.prefixes:
            rest = key[len(article):]
            if key.startswith(article) and len(rest) >= 2 and rest in self._by_key:
                return self._by_key[rest]
        rest = key
        for _ in range(affixes.letter_count):
            if len(rest) < 3 or rest[0] not in affixes.letters:
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
