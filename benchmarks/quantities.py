"""Quantity extraction on hand-written messages, per language.

Reads evaluation lines that carry gold `items` (`{"text", "intent", "lang", "items":
[{"name", "quantity", "unit"}]}`) and compares them with what the bot extracts, two ways:
with the gold intent (the entity rules alone) and as routed (the intent the bundled model
and rules pick, items of every part in order: what the bot would act on).

An item's amount is right when its quantity (a number or none) and its unit (compared in
the canonical spelling `router.entities` uses) both match. A message is right when it has
as many items as the gold and every amount is right. Names are matched loosely (the gold
name inside the extracted one, or the same lexicon entry), since notes and articles may
stay on a name; names are reported, not required, for an amount to count.

    .venv/bin/python benchmarks/quantities.py                       # the default files
    .venv/bin/python benchmarks/quantities.py --data some.jsonl --errors 20
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from router.classifier import Classifier  # noqa: E402
from router.entities import UNITS, extract  # noqa: E402
from router.lexicon import lexicon  # noqa: E402
from router.normalize import normalize  # noqa: E402
from router.router import Router  # noqa: E402
from router.types import Incoming, Intent, Item  # noqa: E402

DEFAULT_DATA = [ROOT / "models/corpus/eval/realistic.jsonl",
                ROOT / "models/corpus/eval/quantities.jsonl"]
DEFAULT_MODEL = ROOT / "models" / "intent"


@dataclass
class Tally:
    """Counts for one language and one way of extracting."""

    messages: int = 0
    messages_right: int = 0
    items: int = 0
    amounts_right: int = 0
    stated: int = 0
    stated_right: int = 0
    names_right: int = 0

    def row(self, lang: str, way: str) -> str:
        """One markdown table row."""
        def pct(part: int, whole: int) -> str:
            return f"{100 * part / whole:.1f}% ({part}/{whole})" if whole else "-"
        return (f"| {lang} | {way} | {self.messages} | {pct(self.messages_right, self.messages)}"
                f" | {pct(self.amounts_right, self.items)} | {pct(self.stated_right, self.stated)}"
                f" | {pct(self.names_right, self.items)} |")


def canonical_unit(unit: str | None) -> str | None:
    """A unit in the extractor's canonical spelling; unknown units compared normalized."""
    if unit is None:
        return None
    key = normalize(unit)
    return normalize(UNITS.get(key, key))


def same_amount(gold: dict[str, Any], got: Item | None) -> bool:
    """Quantity and unit both as the gold says."""
    if got is None:
        return False
    want = gold.get("quantity")
    if (want is None) != (got.quantity is None):
        return False
    if want is not None and got.quantity is not None \
            and not math.isclose(float(want), float(got.quantity), abs_tol=1e-6):
        return False
    return canonical_unit(gold.get("unit")) == canonical_unit(got.unit)


def same_name(gold: str, got: str) -> bool:
    """The gold name inside the extracted one (articles, notes), or one lexicon entry."""
    want, have = normalize(gold), normalize(got)
    if want and want in have:
        return True
    entry = lexicon().find(got)
    return entry is not None and entry == lexicon().find(gold)


def align(gold: list[dict[str, Any]], got: list[Item]) -> list[Item | None]:
    """For each gold item, the extracted item it corresponds to (by name, else by place)."""
    used: set[int] = set()
    out: list[Item | None] = []
    for index, want in enumerate(gold):
        found = next((i for i, item in enumerate(got)
                      if i not in used and same_name(want["name"], item.name)), None)
        if found is None and len(got) == len(gold) and index not in used:
            found = index
        if found is not None:
            used.add(found)
        out.append(got[found] if found is not None else None)
    return out


def score(tally: Tally, gold: list[dict[str, Any]], got: list[Item]) -> bool:
    """Add one message to a tally; True when the message is right."""
    matched = align(gold, got)
    right = len(got) == len(gold)
    tally.messages += 1
    for want, have in zip(gold, matched, strict=True):
        tally.items += 1
        ok = same_amount(want, have)
        tally.amounts_right += ok
        right = right and ok
        if want.get("quantity") is not None:
            tally.stated += 1
            tally.stated_right += ok
        tally.names_right += have is not None and same_name(want["name"], have.name)
    tally.messages_right += right
    return right


def show(items: list[Item] | list[dict[str, Any]]) -> str:
    """Items as `name [quantity unit]; ...` for the error listing."""
    parts = []
    for item in items:
        raw = item if isinstance(item, dict) else item.to_json()
        amount = " ".join(str(x) for x in (raw.get("quantity"), raw.get("unit")) if x is not None)
        parts.append(f"{raw['name']} [{amount or '-'}]")
    return "; ".join(parts) or "(none)"


def main() -> int:
    """Print the per-language table (and, with --errors, the messages that went wrong)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append",
                        help="JSON lines with gold items (repeatable)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--errors", type=int, default=0,
                        help="list up to this many wrong messages per language (as routed)")
    args = parser.parse_args()
    rows = [json.loads(line) for path in (args.data or DEFAULT_DATA)
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [row for row in rows if row.get("items")]
    router = Router(Classifier.from_dir(args.model, threads=1))
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    intent_right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        lang, gold, text = row["lang"], row["items"], row["text"]
        given = list(extract(Intent(row["intent"]), text).items)
        score(tallies[lang, "gold intent"], gold, given)
        routed = router.decide(Incoming(chat_id=0, user_id=0, text=text))
        got = [item for entities in routed.entities_list for item in entities.items]
        intent_right[lang][0] += routed.intent == Intent(row["intent"])
        intent_right[lang][1] += 1
        if not score(tallies[lang, "as routed"], gold, got):
            wrong[lang].append(f"  {text!r} [{row['intent']} -> {'+'.join(routed.intents)}]"
                               f"\n      want {show(gold)}\n      got  {show(got)}")
    print("| lang | extraction | messages | messages right | amounts right (all items)"
          " | amounts right (stated amounts) | names right |")
    print("|---|---|---|---|---|---|---|")
    for lang in sorted({key[0] for key in tallies}):
        for way in ("gold intent", "as routed"):
            print(tallies[lang, way].row(lang, way))
    print()
    print("Routed intent right on these lines: " + ", ".join(
        f"{lang} {right}/{total}" for lang, (right, total) in sorted(intent_right.items())))
    if args.errors:
        for lang in sorted(wrong):
            print(f"\n{lang}: {len(wrong[lang])} messages wrong as routed")
            print("\n".join(wrong[lang][: args.errors]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
