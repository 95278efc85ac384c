"""English ingredient-line parsers side by side on a labelled set of lines.

    .venv/bin/python benchmarks/recipes_parsers.py [-v] [--lines FILE.tsv] [--mirror GIT_DIR]

Each labelled line (tests/fixtures/recipes/english_lines.tsv, written for this project) has
the item a shopper buys (alternatives allowed: "mozzarella cheese|mozzarella"), its quantity
and its unit. A parser scores a line when it keeps the item (no drop), when its name is one
of the alternatives, and when its amount (quantity and unit) is the recipe's. Tap water lines
are labelled "-" and left out of the scores: only the bot knows not to offer them.

Every parser's name goes through the same tidying the bot would give any parser's output
(prep notes after a comma and parentheses cut off), so the comparison is of the parsers.
With --mirror (a git mirror of github.com/hhursev/recipe-scrapers, as the `fetch` tool leaves
it), a held-out set too: 72 lines of eight other sites' test pages, read at run time through
recipe-scrapers and labelled in tests/fixtures/recipes/heldout_labels.tsv before any parser
ran on them (the bot's parser was tuned on the first set, never on these).

ingreedypy and ingredient-slicer are optional (`pip install ingreedypy ingredient-slicer`);
ingredient-parser-nlp cannot run without NLTK tagger data that no package registry ships.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.recipes import ingredient_item  # noqa: E402

LINES = ROOT / "tests" / "fixtures" / "recipes" / "english_lines.tsv"
HELDOUT = ROOT / "tests" / "fixtures" / "recipes" / "heldout_labels.tsv"
UNIT_NAMES = {
    "ounce": "oz", "ounces": "oz", "oz": "oz", "tablespoon": "tbsp", "tablespoons": "tbsp",
    "tbsp": "tbsp", "teaspoon": "tsp", "teaspoons": "tsp", "tsp": "tsp", "gram": "g",
    "grams": "g", "g": "g", "kilogram": "kg", "kg": "kg", "pound": "lb", "pounds": "lb",
    "lb": "lb", "milliliter": "ml", "millilitre": "ml", "ml": "ml", "liter": "l", "l": "l",
    "cup": "cup", "cups": "cup", "clove": "clove", "cloves": "clove", "sprig": "sprig",
    "sprigs": "sprig", "pinch": "pinch", "can": "can", "cans": "can", "bag": "bag",
}
Parsed = tuple[str, float | None, str | None] | None


def tidy(name: str) -> str:
    """What the bot keeps of any parser's name: no parentheses, nothing after a comma."""
    name = re.sub(r"\([^()]*\)", " ", name)
    name = re.sub(r"[()]", " ", name)
    name = re.split(r"[,;:]", name)[0]
    return re.sub(r"\s+", " ", name).strip().lower()


def ours(line: str) -> Parsed:
    item = ingredient_item(line)
    if item is None:
        return None
    return item.name, item.quantity, item.unit


def _ingreedypy() -> Callable[[str], Parsed] | None:
    try:
        from ingreedypy import Ingreedy
    except ImportError:
        return None

    def parse(line: str) -> Parsed:
        try:
            found = Ingreedy().parse(line)
        except Exception:  # the grammar refuses lines it cannot read
            return None
        quantities = found.get("quantity") or []
        first = quantities[0] if quantities else {}
        unit = first.get("unit")
        return (str(found.get("ingredient") or ""), first.get("amount"),
                UNIT_NAMES.get(str(unit).lower(), str(unit)) if unit else None)
    return parse


def _slicer() -> Callable[[str], Parsed] | None:
    try:
        from ingredient_slicer import IngredientSlicer
    except ImportError:
        return None

    def parse(line: str) -> Parsed:
        try:
            found = IngredientSlicer(line).to_json()
        except Exception:  # a line the rules cannot read
            return None
        quantity = found.get("quantity")
        try:
            amount = float(quantity) if quantity not in (None, "") else None
        except ValueError:
            amount = None
        unit = found.get("standardized_unit") or found.get("unit")
        return (str(found.get("food") or ""), amount,
                UNIT_NAMES.get(str(unit).lower(), str(unit)) if unit else None)
    return parse


def load(path: Path) -> list[tuple[str, list[str], float | None, str | None]]:
    rows = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        line, names, quantity, unit = [*raw.split("\t"), "", "", ""][:4]
        rows.append((line, names.split("|"), float(quantity) if quantity else None,
                     unit or None))
    return rows


def heldout(mirror: Path) -> list[tuple[str, list[str], float | None, str | None]]:
    """The held-out lines from the mirror's pages, with their labels."""
    import subprocess

    from recipe_scrapers import scrape_html

    pages: dict[str, list[str]] = {}
    rows = []
    for raw in HELDOUT.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        page, index, names, quantity, unit = [*raw.split("\t"), "", ""][:5]
        if page not in pages:
            html = subprocess.run(["git", f"--git-dir={mirror}", "show",
                                   f"HEAD:tests/test_data/{page}.testhtml"],
                                  capture_output=True, check=True).stdout.decode("utf-8")
            pages[page] = [str(line) for line in scrape_html(
                html, "http://127.0.0.2/page", supported_only=False).ingredients()]
        rows.append((pages[page][int(index)], names.split("|"),
                     float(quantity) if quantity else None, unit or None))
    return rows


def score(parse: Callable[[str], Parsed], rows: list[tuple[str, list[str], float | None,
                                                          str | None]],
          verbose: bool) -> dict[str, float]:
    kept = named = amounts = 0
    buyable = [row for row in rows if row[1] != ["-"]]
    water_offered = 0
    started = time.perf_counter()
    for line, names, quantity, unit in rows:
        parsed = parse(line)
        name = tidy(parsed[0]) if parsed else ""
        if names == ["-"]:
            water_offered += bool(name)
            continue
        if not name:
            if verbose:
                print(f"    dropped: {line}")
            continue
        kept += 1
        right_name = name in names
        named += right_name
        assert parsed is not None
        # Units compared by their canonical singular ("cloves" as the bot shows 3 of them).
        said = UNIT_NAMES.get(str(parsed[2]).lower(), parsed[2]) if parsed[2] else None
        right_amount = ((parsed[1] is None and quantity is None)
                        or (parsed[1] is not None and quantity is not None
                            and abs(float(parsed[1]) - quantity) < 0.01)) and said == unit
        amounts += right_amount
        if verbose and not (right_name and right_amount):
            print(f"    {line!r}: {name!r} {parsed[1]} {parsed[2]}  (want {names[0]!r} "
                  f"{quantity} {unit})")
    total = len(buyable)
    return {"lines": total, "kept": kept / total, "name": named / total,
            "amount": amounts / total, "water_offered": water_offered,
            "ms_per_line": (time.perf_counter() - started) * 1000 / len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=Path, default=LINES)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    parser.add_argument("--mirror", type=Path, help="git dir of a recipe-scrapers mirror")
    args = parser.parse_args()
    parsers: dict[str, Callable[[str], Parsed] | None] = {
        "shopbot": ours, "ingreedypy": _ingreedypy(), "ingredient-slicer": _slicer()}
    sets = [(str(args.lines.relative_to(ROOT)) if args.lines.is_relative_to(ROOT)
             else str(args.lines), load(args.lines))]
    if args.mirror:
        sets.append(("held out: recipe-scrapers' pages", heldout(args.mirror)))
    for label, rows in sets:
        table(label, rows, parsers, args.verbose)
    print("ingredient-parser-nlp: not run (needs NLTK's averaged_perceptron_tagger_eng, "
          "which no package registry ships; it fails at import offline)")


def table(title: str, rows: list[tuple[str, list[str], float | None, str | None]],
          parsers: dict[str, Callable[[str], Parsed] | None], verbose: bool) -> None:
    print(f"\n{title}: {len(rows)} labelled lines "
          f"({sum(r[1] == ['-'] for r in rows)} of tap water)")
    print(f"{'parser':<20}{'kept':>7}{'name':>7}{'amount':>8}{'water':>7}{'ms/line':>9}")
    for label, parse in parsers.items():
        if parse is None:
            print(f"{label:<20} not installed")
            continue
        if verbose:
            print(f"  {label}:")
        result = score(parse, rows, verbose)
        print(f"{label:<20}{result['kept']:>7.0%}{result['name']:>7.0%}"
              f"{result['amount']:>8.0%}{int(result['water_offered']):>7}"
              f"{result['ms_per_line']:>9.2f}")


if __name__ == "__main__":
    main()
