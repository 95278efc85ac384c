"""Intent figures per language, for one or more model directories side by side.

`shopbot eval` reports routed and right-when-routed for all languages together; a language
that trails hides in that total. This prints, per language, macro-F1, accuracy, the share
routed at the threshold and the share of those right, for each model given, on a JSON-lines
file or on the held-out template split (the default).

    .venv/bin/python benchmarks/by_language.py                                   # held-out split
    .venv/bin/python benchmarks/by_language.py --data models/corpus/dev/ar_dev.jsonl
    .venv/bin/python benchmarks/by_language.py --model models/intent --model /tmp/candidate
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.evaluate import evaluate  # noqa: E402


def rows_of(data: list[Path] | None, seed: int) -> tuple[list[dict[str, Any]], str]:
    """The labelled rows to measure on, and a name for them."""
    if not data:
        from models.corpus.generate import build_splits

        return ([e.to_json() for e in build_splits(seed=seed).test],
                f"held-out template split (seed {seed})")
    rows = [json.loads(line) for path in data
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows, ", ".join(path.name for path in data)


def main() -> int:
    """Print one table row per language and model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append",
                        help="JSON lines with text, intent, lang (repeatable; default: the "
                             "held-out template split)")
    parser.add_argument("--model", type=Path, action="append",
                        help="a model directory (repeatable; default: models/intent)")
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--errors", type=str, default=None, metavar="LANG",
                        help="also list the wrong messages of this language (last model)")
    args = parser.parse_args()
    rows, name = rows_of(args.data, args.seed)
    models = args.model or [ROOT / "models" / "intent"]
    print(f"# {name}, threshold {args.threshold}\n")
    print("| lang | model | messages | macro-F1 | accuracy | routed | right when routed |")
    print("|---|---|---|---|---|---|---|")
    errors: list[dict[str, Any]] = []
    for lang in sorted({row.get("lang", "?") for row in rows}):
        picked = [row for row in rows if row.get("lang", "?") == lang]
        for model in models:
            report = evaluate(model, picked, args.threshold)
            m = report["model"]
            print(f"| {lang} | {model} | {len(picked)} | {m['macro_f1']:.4f} | "
                  f"{m['accuracy']:.4f} | {100 * m['coverage_at_threshold']:.1f}% | "
                  f"{100 * m['accuracy_when_routed']:.1f}% |")
            if lang == args.errors and model == models[-1]:
                errors = report["errors"]
    for error in errors:
        print(f"  {error['gold']} -> {error['pred']} ({error['confidence']}): {error['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
