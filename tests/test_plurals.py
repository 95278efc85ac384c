"""Replies that count things agree with the count in every language: one item is "1 item",
"פריט אחד", "غرض واحد"."""

from __future__ import annotations

import pytest

from handlers.i18n import text

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
