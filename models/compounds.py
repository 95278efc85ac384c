"""Two-request messages glued from single ones ("add bread and show me the list"), for the
multi-label training path and the compound evaluation; the joiners are per-language data."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from models.corpus.generate import Example
from router.types import Intent

JOINERS_FILE = Path(__file__).parent / "corpus" / "joiners.json"


@dataclass(frozen=True, slots=True)
class Compound:
    """A message that asks for two things, in order ("add bread and show me the list")."""

    text: str
    intent: Intent
    lang: str
    template: str
    intents: tuple[Intent, ...]


@cache
def joiners() -> dict[str, tuple[str, ...]]:
    raw = json.loads(JOINERS_FILE.read_text(encoding="utf-8"))
    return {lang: tuple(values) for lang, values in raw.items() if not lang.startswith("_")}


def compounds(examples: list[Example], rng: random.Random, count: int) -> list[Compound]:
    """Two messages of one language and two different intents, joined as people do.
    Languages without joiners in the data are left out rather than guessed."""
    glue = joiners()
    by_lang: dict[str, list[Example]] = {}
    for example in examples:
        if example.lang in glue:
            by_lang.setdefault(example.lang, []).append(example)
    by_lang = {lang: rows for lang, rows in by_lang.items()
               if len({row.intent for row in rows} - {Intent.OTHER}) >= 2}
    out: list[Compound] = []
    while by_lang and len(out) < count:
        lang = rng.choice(sorted(by_lang))
        first, second = rng.sample(by_lang[lang], 2)
        if first.intent is second.intent or Intent.OTHER in (first.intent, second.intent):
            continue
        text = first.text.rstrip(" .!?") + rng.choice(glue[lang]) + second.text
        out.append(Compound(text, first.intent, lang, "compound",
                            (first.intent, second.intent)))
    return out
