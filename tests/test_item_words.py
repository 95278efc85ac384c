"""The words of an item: one identity in three languages, forms and prefixes, and the notes
written beside an item (router/lexicon.py, router/entities.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from router.entities import parse_items
from router.languages import codes
from router.lexicon import DATA_DIR, lexicon
from router.normalize import normalize


@pytest.mark.parametrize(("names", "concept"), [
    (["לחם", "הלחם", "בלחם", "bread", "the bread", "خبز", "الخبز", "والخبز"], "bread"),
    (["עגבניות", "עגבניה", "tomato", "بندورة", "طماطم", "البندورة"], "tomatoes"),
    (["גמבה", "פלפל אדום", "red pepper", "فلفل أحمر", "فليفلة حمرا"], "red peppers"),
    (["ביצים", "ביצה", "והביצים", "eggs", "egg", "بيض", "بيضة", "بالبيض"], "eggs"),
    (["חלב סויה", "soy milk", "حليب صويا"], "soy milk"),
])
def test_every_form_in_every_language_is_one_concept(names: list[str], concept: str) -> None:
    assert {lexicon().identify(name).concept for name in names} == {concept}


def test_a_word_glued_to_a_prefix_is_not_taken_for_a_shorter_item() -> None:
    # "חלבה" is halva, not milk with a letter on; "הודו" is turkey, not "ודו" with an article.
    assert lexicon().identify("חלבה").concept == "halva"
    assert lexicon().identify("הודו").concept == "deli turkey"


def test_words_outside_the_lexicon_meet_by_their_loose_form() -> None:
    forms = {lexicon().identify(name) for name in ("kombucha", "kombuchas", "the kombucha")}
    assert len(forms) == 1
    [identity] = forms
    assert not identity.known and identity.concept == "~kombucha"
    assert lexicon().identify("الكومبوتشا") == lexicon().identify("كومبوتشا")


def test_the_reader_gets_the_word_of_their_own_language() -> None:
    assert lexicon().word("bread", "he") == "לחם"
    assert lexicon().word("bread", "ar") == "خبز"
    assert lexicon().word("~kombucha", "he") is None


def test_every_row_of_the_lexicon_names_its_concept_and_no_spelling_means_two() -> None:
    seen: dict[str, str] = {}
    for lang in codes():
        with (Path(DATA_DIR) / lang / "items.tsv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                assert row["concept"], row
                for spelling in [row["name"], *filter(None, row["variants"].split(","))]:
                    key = normalize(spelling)
                    assert seen.setdefault(key, row["concept"]) == row["concept"], spelling


@pytest.mark.parametrize(("text", "expected"), [
    ("גבינה לבנה 5% (גדולה) - תנובה", [("גבינה לבנה", None, "5%, גדולה, תנובה")]),
    ("חלב 3%", [("חלב", None, "3%")]),
    ("חלב 3% וחלב 1%", [("חלב", None, "3%"), ("חלב", None, "1%")]),
    ("חלב תנובה 3%", [("חלב", None, "תנובה, 3%")]),
    ("2 חלב 3%, ביצים (גדולות, L)", [("חלב", 2.0, "3%"), ("ביצים", None, "גדולות, L")]),
    ("שמן זית - כתית מעולה", [("שמן זית", None, "כתית מעולה")]),
    ("low fat milk and 2% milk", [("milk", None, "low fat"), ("milk", None, "2%")]),
    ("milk - eggs", [("milk", None, None), ("eggs", None, None)]),
    ("kombucha - tempeh", [("kombucha", None, None), ("tempeh", None, None)]),
    ("light bulbs", [("light bulbs", None, None)]),
    ("חלב (2)", [("חלב", 2.0, None)]),
    ("لبن 3% (كبير) - المراعي", [("لبن", None, "3%، كبير، المراعي")]),
])
def test_a_note_beside_an_item_stays_with_it(
        text: str, expected: list[tuple[str, float | None, str | None]]) -> None:
    assert [(i.name, i.quantity, i.note) for i in parse_items(text)] == expected


def test_a_note_shows_in_the_classify_shape_only_when_there_is_one() -> None:
    [plain, noted] = parse_items("eggs, milk 3%")
    assert plain.to_json() == {"name": "eggs", "quantity": None, "unit": None}
    assert noted.to_json() == {"name": "milk", "quantity": None, "unit": None, "note": "3%"}
