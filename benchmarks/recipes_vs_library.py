"""What the bot offers for a recipe link, beside what recipe-scrapers returns for the page.

    .venv/bin/python benchmarks/recipes_vs_library.py [--mirror PATH] [-v]

(a) The pages written for the tests (tests/fixtures/recipes/*.html); (b) with --mirror, about
30 of recipe-scrapers' own test pages (tests/test_data/<site>/<name>.testhtml), read at run
time from a git mirror of github.com/hhursev/recipe-scrapers (a bare repository: the `fetch`
tool's /work/.mirror/hhursev+recipe-scrapers/repo) and never stored in this repository.

Every page is served on a loopback address and read through the bot's real fetch path
(`RecipeReader.read`: the address guard, the bounded body, the charset, recipe-scrapers'
schema.org reading, then the bot's ingredient parser). The library's figure is
recipe-scrapers' generic schema.org path (`scrape_html(..., supported_only=False)` on the
same page at the same loopback URL, so no site-specific scraper helps it).

Per page: the library's ingredient lines, the bot's offered items, and recall — the share of
the library's lines the bot offers an item for (an offered item whose name appears in the
line). Lines of tap water are counted apart: the bot leaves them out on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.languages import LANG_DIR  # noqa: E402
from router.recipes import RECIPE_WORDS, RecipeReader, ingredient_items  # noqa: E402
from router.types import Item  # noqa: E402
from tests.support.recipe_server import FIXTURES, RecipeServer  # noqa: E402

HOST = "127.0.0.2"
# English pages of sites most families cook from, one per site, chosen before measuring.
MIRROR_PAGES = """
allrecipes.com/allrecipescurated bbc.com/bbcfood_1 bbcgoodfood.com/bbcgoodfood_1
bonappetit.com/bonappetit budgetbytes.com/budgetbytes cookieandkate.com/cookieandkate_1
cooking.nytimes.com/nytimes delish.com/delish_1 eatingwell.com/eatingwell
epicurious.com/epicurious food52.com/food52 foodnetwork.co.uk/foodnetwork
gimmesomeoven.com/gimmesomeoven_1 halfbakedharvest.com/halfbakedharvest
jamieoliver.com/jamieoliver_1 kingarthurbaking.com/kingarthur
loveandlemons.com/loveandlemons_1 minimalistbaker.com/minimalistbaker myrecipes.com/myrecipes
pinchofyum.com/pinchofyum recipetineats.com/recipetineats_1
sallysbakingaddiction.com/sallysbakingaddiction_1 seriouseats.com/seriouseats
simplyrecipes.com/simplyrecipes_1 skinnytaste.com/skinnytaste_1 tasteofhome.com/tasteofhome_1
tasty.co/tasty_1 thekitchn.com/thekitchn_1 wellplated.com/wellplated_1
101cookbooks.com/onehundredonecookbooks_1
""".split()


def library_lines(html: str, url: str) -> list[str] | None:
    """recipe-scrapers' generic schema.org ingredient lines, or None when it finds none."""
    from recipe_scrapers import scrape_html

    try:
        return [str(line) for line in scrape_html(html, url, supported_only=False).ingredients()]
    except Exception:  # the library raises many kinds for a page without a recipe
        return None


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def covered(line: str, offered: list[Item]) -> bool:
    """An offered item's name is in the line (tidied the same way on both sides)."""
    text = f" {_words(line)} "
    return any(f" {_words(item.name)} " in text for item in offered if _words(item.name))


def is_water(line: str) -> bool:
    """A line the bot leaves out on purpose: nothing to buy in it, and it names water in one
    of the languages (router/data/lang/*/recipes.json)."""
    words = set(_words(line).split())
    return not ingredient_items(line) and any(
        word in words for path in LANG_DIR.glob(f"*/{RECIPE_WORDS}")
        for word in json.loads(path.read_text(encoding="utf-8"))["water"])


async def measure(pages: dict[str, bytes], verbose: bool) -> tuple[int, int, int, int]:
    """Print one row per page; return (library lines, water lines, recalled, offered)."""
    totals = [0, 0, 0, 0]
    reader = RecipeReader(allowed_networks=(f"{HOST}/32",))
    with RecipeServer(HOST) as server:
        for name, body in pages.items():
            path = "/" + name.replace("/", "_")
            server.pages[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, body, 0.0)
            url = server.url(path)
            lines = library_lines(body.decode("utf-8", "replace"), url)
            result = await reader.read(url)
            offered = list(result.items)
            if lines is None:
                print(f"{name:<52} library: no recipe   bot: {result.error or len(offered)}")
                continue
            water = [line for line in lines if is_water(line)]
            wanted = [line for line in lines if line not in water]
            recalled = [line for line in wanted if covered(line, offered)]
            recall = len(recalled) / len(wanted) if wanted else 1.0
            print(f"{name:<52}{len(lines):>8}{len(water):>7}{len(offered):>8}{recall:>9.0%}")
            if verbose:
                for line in wanted:
                    if line not in recalled:
                        print(f"      missed: {line}")
            for index, value in enumerate((len(lines), len(water), len(recalled), len(offered))):
                totals[index] += value
    return totals[0], totals[1], totals[2], totals[3]


def _report(label: str, pages: dict[str, bytes], verbose: bool) -> None:
    print(f"\n{label}: {len(pages)} pages")
    print(f"{'page':<52}{'library':>8}{'water':>7}{'offered':>8}{'recall':>9}")
    lines, water, recalled, offered = asyncio.run(measure(pages, verbose))
    wanted = lines - water
    print(f"{'overall':<52}{lines:>8}{water:>7}{offered:>8}"
          f"{(recalled / wanted if wanted else 1.0):>9.1%}")
    print(f"  library ingredient lines {lines}, of them tap water {water} (left out on purpose); "
          f"recalled {recalled} of {wanted}; items offered {offered}")


def mirror_pages(mirror: Path) -> dict[str, bytes]:
    pages = {}
    for name in MIRROR_PAGES:
        shown = subprocess.run(["git", f"--git-dir={mirror}", "show",
                                f"HEAD:tests/test_data/{name}.testhtml"],
                               capture_output=True, check=False)
        if shown.returncode == 0:
            pages[name] = shown.stdout
        else:
            print(f"{name}: not in the mirror")
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path,
                        help="git dir of a recipe-scrapers mirror (its test pages are read)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every missed line")
    args = parser.parse_args()
    from importlib.metadata import version

    print(f"recipe-scrapers {version('recipe-scrapers')}, generic schema.org "
          "path, beside the bot's RecipeReader over loopback HTTP")
    fixtures = {p.name: p.read_bytes() for p in sorted(FIXTURES.glob("*.html"))}
    _report("(a) tests/fixtures/recipes", fixtures, args.verbose)
    if args.mirror:
        _report(f"(b) recipe-scrapers' test pages from {args.mirror}", mirror_pages(args.mirror),
                args.verbose)


if __name__ == "__main__":
    main()
