"""Replies that count things agree with the count in every language: one item is "1 item",
"פריט אחד", "غرض واحد"; a dish needing one onion lists "1 onion", not "1 onions"."""

from __future__ import annotations

import pytest

from handlers.i18n import text
from handlers.recipes import catalog

COUNTED = ["confirm_clear", "cleared", "partial_done"]


@pytest.mark.parametrize("key", COUNTED)
@pytest.mark.parametrize(("lang", "one", "wrong"), [
    ("en", "1 item ", "1 items"),
    ("he", "פריט אחד", "1 פריטים"),
    ("ar", "غرض واحد", "1 أغراض"),
])
def test_one_item_is_said_in_the_singular(key: str, lang: str, one: str, wrong: str) -> None:
    said = text(key, lang, count=1, items=["x"])
    assert one in said and wrong not in said


@pytest.mark.parametrize("key", COUNTED)
@pytest.mark.parametrize(("lang", "count", "said"), [
    ("en", 2, "2 items"), ("en", 7, "7 items"),
    ("he", 2, "2 פריטים"), ("he", 7, "7 פריטים"),
    ("ar", 2, "غرضين"), ("ar", 7, "7 أغراض"), ("ar", 12, "12 غرض"), ("ar", 100, "100 غرض"),
])
def test_many_items_take_the_languages_plural_form(key: str, lang: str, count: int,
                                                   said: str) -> None:
    assert said in text(key, lang, count=count, items=["x"])


@pytest.mark.parametrize(("lang", "one"), [
    ("en", "onion"), ("he", "בצל"), ("ar", "بصلة"),
])
def test_a_dish_needing_one_onion_names_one_onion(lang: str, one: str) -> None:
    shakshuka = next(d for d in catalog() if d.id == "shakshuka")
    onions = [i for i in shakshuka.items(lang) if i.quantity == 1 and i.unit is None]
    assert [i.name for i in onions] == [one]


def test_no_dish_lists_one_of_a_plural_english_name() -> None:
    plural = [(dish.id, item.name) for dish in catalog() for item in dish.items("en")
              if item.quantity == 1 and item.unit is None and item.name.endswith("s")
              and not item.name.endswith(("ss", "us"))]
    assert plural == []


def test_no_dish_lists_one_of_a_plural_hebrew_name() -> None:
    plural = [(dish.id, item.name) for dish in catalog() for item in dish.items("he")
              if item.quantity == 1 and item.unit is None and item.name.endswith(("ים", "ות"))]
    assert plural == []
