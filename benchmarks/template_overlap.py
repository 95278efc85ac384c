"""How close evaluation messages are to the training templates, per language.

A message counts as a template fill when, normalized, it matches a template whose item slots
accept only lexicon items (with amounts and number words) and whose dish, person, group-name
and URL slots accept only the slot lists' values; templates that are nothing but a slot are
skipped (they match anything). It counts as verbatim when it is in the generated corpus
(seed 42, every split). An evaluation set meant to be written apart from the templates
should have neither.

    .venv/bin/python benchmarks/template_overlap.py models/corpus/eval/realistic.jsonl -v
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.corpus.generate import build_splits, load_slots  # noqa: E402
from router.entities import DUAL_UNITS, NUMBER_WORDS, UNITS  # noqa: E402
from router.lexicon import lexicon  # noqa: E402
from router.normalize import normalize  # noqa: E402

TEMPLATES = ROOT / "models" / "corpus" / "templates"
_SLOT = re.compile(r"(\{\w+\})")


def _alternation(words: list[str]) -> str:
    keys = sorted({re.escape(normalize(w)) for w in words if w}, key=len, reverse=True)
    return "(?:" + "|".join(keys) + ")"


def template_patterns(lang: str) -> list[tuple[str, re.Pattern[str]]]:
    """Every template of a language with the regex its fills match."""
    item = "(?:" + normalize("\u0627\u0644") + ")?" if lang == "ar" else ""
    item += _alternation([entry.name for entry in lexicon().names(lang)])
    amount = (_alternation([*NUMBER_WORDS, *UNITS, *DUAL_UNITS, "of", "a", "an", "x"])
              + r"|[0-9][0-9./]*|[½¼¾]")
    qty_item = f"(?:(?:(?:{amount}) ){{0,3}}{item}(?: (?:{amount}))?)"
    slots = load_slots(lang)
    fills = {
        "item": item, "qty_item": qty_item, "qty": r"\S+(?: \S+)?",
        "items": f"{qty_item}(?:[ ,\u060c\\n]+\\S{{0,3}} ?{qty_item}){{0,4}}",
        "dish": _alternation(slots["dishes"]), "group_name": _alternation(slots["group_names"]),
        "person": _alternation(slots["people"]), "url": r"<url>",
    }
    out = []
    for path in sorted(TEMPLATES.glob(f"{lang}*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            text = normalize(line)
            if not re.sub(r"\{\w+\}|\W", "", text):
                continue
            parts = _SLOT.split(text)
            pattern = "".join(fills[p[1:-1]] if _SLOT.fullmatch(p) else re.escape(p)
                              for p in parts)
            out.append((line, re.compile(f"^{pattern}$")))
    return out


def main() -> int:
    """Print, per language, how many lines are template fills or verbatim corpus lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the lines found")
    args = parser.parse_args()
    rows = [json.loads(line) for path in args.data
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    split = build_splits(seed=42)
    corpus = {normalize(e.text) for part in (split.train, split.validation, split.test)
              for e in part}
    totals: Counter[tuple[str, str]] = Counter()
    for lang in sorted({row["lang"] for row in rows}):
        patterns = template_patterns(lang)
        for row in (r for r in rows if r["lang"] == lang):
            text = normalize(row["text"])
            totals[lang, "lines"] += 1
            hit = next((line for line, pattern in patterns if pattern.match(text)), None)
            if hit is not None:
                totals[lang, "fills"] += 1
            if text in corpus:
                totals[lang, "verbatim"] += 1
            if args.verbose and (hit is not None or text in corpus):
                print(f"{lang}: {row['text']!r} <= {hit!r}"
                      + (" (verbatim in corpus)" if text in corpus else ""))
        print(f"{lang}: {totals[lang, 'lines']} lines, {totals[lang, 'fills']} template fills, "
              f"{totals[lang, 'verbatim']} verbatim in the generated corpus")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
