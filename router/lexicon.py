"""The bundled grocery lexicon: item names, their spellings and their shelf category.

Stdlib only and data-driven (router/data/items_*.tsv), so the handlers can group a list by
category and the model's corpus can draw its items from the very same words.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from router.normalize import normalize

__all__ = ["CATEGORIES", "Lexicon", "LexiconEntry", "lexicon"]

DATA_DIR = Path(__file__).with_name("data")
LANGUAGES = ("he", "en", "ar")
CATEGORIES = (
    "produce", "dairy", "bakery", "meat_fish", "pantry", "frozen", "drinks", "snacks",
    "spices", "household", "personal_care", "baby", "pets", "other",
)


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One grocery item of one language."""

    name: str
    category: str
    unit: str | None
    lang: str


class Lexicon:
    """Looks items up by any of their spellings (compared normalized)."""

    def __init__(self, entries: list[tuple[LexiconEntry, list[str]]]) -> None:
        self._by_key: dict[str, LexiconEntry] = {}
        self.entries: list[LexiconEntry] = []
        self.max_words = 1
        for entry, variants in entries:
            self.entries.append(entry)
            for spelling in [entry.name, *variants]:
                key = normalize(spelling)
                if key:
                    self._by_key.setdefault(key, entry)
                    self.max_words = max(self.max_words, len(key.split()))

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> Lexicon:
        """Read every `items_<lang>.tsv` under data_dir."""
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
                    entry = LexiconEntry(name=name, category=category, unit=unit, lang=lang)
                    entries.append((entry, [v for v in variants if v]))
        return cls(entries)

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
        entry = self.find(name)
        return entry.category if entry else "other"

    def names(self, lang: str) -> list[LexiconEntry]:
        """Every entry of one language, in file order."""
        return [entry for entry in self.entries if entry.lang == lang]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The bundled lexicon, loaded once per process."""
    return Lexicon.load()
