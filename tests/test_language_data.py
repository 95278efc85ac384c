"""Languages are data (issue 12): one registry, every language's files present and valid, no
words of any language in the code, and the script detection knowing every registered language."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from handlers.i18n import LANGUAGES
from router.languages import codes, language, languages
from router.normalize import detect_language

ROOT = Path(__file__).resolve().parents[1]
# Hebrew, Arabic and Cyrillic letters (and their punctuation): words, never allowed in code.
LETTERS = re.compile("[\u0590-\u05ff\u0600-\u06ff\u0400-\u04ff]")
CODE_DIRS = ("bot", "handlers", "router", "db")
# Files whose words other features are still moving into data; each entry goes when its
# owner's move lands (router/clauses.py: compound messages; recipes: the recipes feature).
NOT_YET_MOVED = frozenset({
    # Being moved by issue 12's languages-as-data change, one file at a time:
    "db/migrations/versions/0004_item_identity.py", "db/migrations/versions/0005_dialogue.py",
    "handlers/digest.py", "handlers/items.py", "handlers/matching.py", "handlers/reply.py",
    "router/dialogue.py", "router/entities.py", "router/lexicon.py", "router/normalize.py",
    "router/router.py",
})
# A language registered before its message catalog exists replies from the default catalog;
# remove it here in the commit that adds its catalog (the test below then insists).
CATALOG_PENDING: frozenset[str] = frozenset()


def _code_files() -> list[str]:
    # The committed files, as `git grep` sees them (issue 12's done-when).
    listed = subprocess.run(["git", "ls-files", *(f"{d}/*.py" for d in CODE_DIRS)], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return sorted(listed)


def test_no_code_file_holds_hebrew_arabic_or_cyrillic_letters() -> None:
    found = {}
    for path in _code_files():
        if path in NOT_YET_MOVED or not (ROOT / path).exists():
            continue
        lines = [n for n, line in enumerate(
            (ROOT / path).read_text(encoding="utf-8").splitlines(), 1) if LETTERS.search(line)]
        if lines:
            found[path] = lines[:10]
    assert found == {}


def test_the_exceptions_still_hold_letters() -> None:
    # An exception whose file is clean has done its move: drop it from NOT_YET_MOVED.
    clean = [path for path in NOT_YET_MOVED
             if not LETTERS.search((ROOT / path).read_text(encoding="utf-8"))]
    assert clean == []


def test_every_language_with_a_catalog_is_registered_and_the_other_way_round() -> None:
    assert set(LANGUAGES) <= set(codes())
    assert set(codes()) - set(LANGUAGES) == CATALOG_PENDING


def test_the_registry_has_one_fallback_one_default_and_distinct_orders() -> None:
    assert [lang.code for lang in languages() if lang.fallback] == ["en"]
    assert [lang.code for lang in languages() if lang.default] == ["he"]
    assert len({lang.order for lang in languages()}) == len(languages())
    assert codes()[:3] == ("he", "en", "ar")


@pytest.mark.parametrize(("text", "lang"), [
    ("חלב ולחם", "he"), ("milk and bread", "en"), ("حليب وخبز", "ar"),
    ("молоко и хлеб", "ru"), ("купи במבה и молоко", "ru"), ("תקנה milk", "he"),
    ("please buy milk and eggs and bread, תודה", "en"),
])
def test_each_registered_script_is_detected(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(("hint", "lang"), [
    ("ru", "ru"), ("iw", "he"), ("ar-SA", "ar"), ("en-US", "en"), ("fr", "he"), (None, "he"),
])
def test_a_message_without_letters_takes_the_hint_then_the_default(
        hint: str | None, lang: str) -> None:
    assert detect_language("👍 2", hint) == lang


def test_every_script_range_holds_its_languages_letters() -> None:
    assert ord("\u05d0") in range(language("he").script[0][0], language("he").script[0][1] + 1)
    assert ord("\u0431") in range(language("ru").script[0][0], language("ru").script[0][1] + 1)
