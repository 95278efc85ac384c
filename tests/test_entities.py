"""Entity extraction on the phrasings families use around items: what an item is for, "we're
out of", "another liter", "no need for", the reason a removal gives, and a group's new name."""

from __future__ import annotations

import pytest

from router.entities import (
    corrects_amount,
    extract,
    is_bare_item_list,
    is_bare_removal,
    suggestions_switch,
)
from router.types import Intent

Parsed = list[tuple[str, float | None, str | None, str | None]]


def items(intent: Intent, text: str) -> Parsed:
    return [(i.name, i.quantity, i.unit, i.note) for i in extract(intent, text).items]


@pytest.mark.parametrize(("text", "expected"), [
    ("מלפפונים לסלט", [("מלפפונים", None, None, "לסלט")]),
    ("cucumbers for salad", [("cucumbers", None, None, "for salad")]),
    ("oat milk for office", [("oat milk", None, None, "for office")]),
    ("بندورة للسلطة", [("بندورة", None, None, "للسلطة")]),
    ("2 קילו עגבניות לסלט", [("עגבניות", 2.0, "קילו", "לסלט")]),
])
def test_what_an_item_is_for_is_its_note_not_its_name(text: str, expected: Parsed) -> None:
    assert items(Intent.GROCERY_REQUEST, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("גבינה לבנה", [("גבינה לבנה", None, None, None)]),   # one item, ל is its own letter
    ("חלב לחם", [("חלב", None, None, None), ("לחם", None, None, None)]),
    ("לבנה", [("לבנה", None, None, None)]),
    ("لبنة", [("لبنة", None, None, None)]),
])
def test_a_glued_l_that_belongs_to_an_item_is_not_a_purpose(text: str, expected: Parsed) -> None:
    assert items(Intent.GROCERY_REQUEST, text) == expected


@pytest.mark.parametrize("text", ["מלפפונים לסלט", "cucumbers for the salad",
                                  "بندورة للسلطة", "oat milk for office"])
def test_known_items_with_their_purpose_are_a_grocery_request_by_rule(text: str) -> None:
    assert is_bare_item_list(text)


@pytest.mark.parametrize("text", ["מה צריך לשקשוקה", "what do I need for salad",
                                  "ingredients for lasagna", "شو بدنا للمقلوبة"])
def test_a_recipe_question_is_not_a_bare_item_list(text: str) -> None:
    assert not is_bare_item_list(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("we're out of toilet paper", [("toilet paper", None, None, None)]),
    ("we ran out of eggs", [("eggs", None, None, None)]),
    ("we're low on rice", [("rice", None, None, None)]),
    ("נגמר לנו הנייר טואלט", [("נייר טואלט", None, None, None)]),
    ("אזל לנו החלב", [("חלב", None, None, None)]),
    ("خلص الخبز", [("خبز", None, None, None)]),
    ("ما ضل عنا خبز", [("خبز", None, None, None)]),
])
def test_running_out_names_the_bare_item(text: str, expected: Parsed) -> None:
    assert items(Intent.GROCERY_REQUEST, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("another liter of milk", [("milk", 1.0, "l", None)]),
    ("another 2 liters of milk", [("milk", 2.0, "l", None)]),
    ("1 more liter of milk", [("milk", 1.0, "l", None)]),
    ("3 more bottles of water", [("water", 3.0, "bottle", None)]),
    ("עוד ליטר חלב", [("חלב", 1.0, "ליטר", None)]),
    ("ליטר חלב נוסף", [("חלב", 1.0, "ליטר", None)]),
    ("كمان لتر حليب", [("حليب", 1.0, "لتر", None)]),
    ("زيادة كيلو رز", [("رز", 1.0, "كيلو", None)]),
])
def test_another_and_more_are_amounts_not_items(text: str, expected: Parsed) -> None:
    assert items(Intent.GROCERY_REQUEST, text) == expected


@pytest.mark.parametrize("text", ["another", "more", "עוד", "كمان", "زيادة"])
def test_an_amount_word_alone_names_no_item(text: str) -> None:
    assert items(Intent.GROCERY_REQUEST, text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("حطّ على القائمة نص كيلو لبنة", [("لبنة", 0.5, "كيلو", None)]),
    ("زيدي ١٢ بيضة", [("بيضة", 12.0, None, None)]),
])
def test_arabic_add_verbs_frame_the_items(text: str, expected: Parsed) -> None:
    assert items(Intent.GROCERY_REQUEST, text) == expected


def test_an_arabic_add_verb_before_known_items_is_a_grocery_request_by_rule() -> None:
    assert is_bare_item_list("زيدي ١٢ بيضة")


@pytest.mark.parametrize(("text", "name"), [
    ("תוריד את הקוטג', יש לנו עוד במקרר", "קוטג"),
    ("אין צורך בקוטג'", "קוטג"),
    ("לא צריך קוטג' יש בבית", "קוטג"),
    ("no need for cottage cheese", "cottage cheese"),
    ("we don't need cottage cheese, we have some in the fridge", "cottage cheese"),
    ("remove the milk, we don't need it", "milk"),
    ("ما في داعي للبنة", "لبنة"),
    ("شيل اللبنة، في عنا بالبراد", "لبنة"),
])
def test_a_removal_names_only_the_item_not_its_reason(text: str, name: str) -> None:
    assert items(Intent.REMOVE_ITEM, text) == [(name, None, None, None)]
    assert is_bare_removal(text)


@pytest.mark.parametrize("text", ["תוריד את הקוטג'", "remove the milk", "לא צריך",
                                  "no need for milk, add eggs"])
def test_a_plain_or_mixed_removal_is_left_to_the_model(text: str) -> None:
    assert not is_bare_removal(text)


@pytest.mark.parametrize(("text", "name"), [
    ("שנה את השם של הקבוצה למשפחת לוי", "משפחת לוי"),
    ("שנה שם למשפחת כהן", "משפחת כהן"),
    ("תשנה לנו את השם לבית", "בית"),
    ("תקרא לקבוצה משפחת לוי", "משפחת לוי"),
    ("rename the group to The Levis", "The Levis"),
    ("rename the group to Back to School", "Back to School"),
    ("I want to rename the group to Home", "Home"),
    ("call the group The Levis", "The Levis"),
    ("غير اسم المجموعة لعيلة أبو علي", "عيلة أبو علي"),
    ("سمي المجموعة بيت أبو علي", "بيت أبو علي"),
    ("غير اسم المجموعة للبيت الكبير", "البيت الكبير"),
])
def test_the_new_name_is_all_the_words_after_the_marker(text: str, name: str) -> None:
    assert extract(Intent.RENAME_GROUP, text).new_name == name


@pytest.mark.parametrize("text", ["I want to change the name", "שנה שם", "بدي غير اسم القروب"])
def test_a_rename_without_a_name_has_none(text: str) -> None:
    assert extract(Intent.RENAME_GROUP, text).new_name is None


@pytest.mark.parametrize(("text", "switch"), [
    ("תפסיק להציע לי דברים", "off"), ("די עם ההצעות", "off"), ("תחזיר את ההצעות", "on"),
    ("stop the suggestions", "off"), ("no more suggestions please", "off"),
    ("turn the suggestions back on", "on"), ("start suggesting again", "on"),
    ("بطّل تقترح", "off"), ("بلا اقتراحات", "off"), ("رجّع الاقتراحات", "on"),
    ("хватит предлагать", "off"), ("не предлагай ничего", "off"), ("верни подсказки", "on"),
    # Questions, other requests and long messages are no switch.
    ("מה אתה מציע לארוחת ערב?", None), ("what do you suggest for dinner?", None),
    ("suggest a pasta dish", None), ("شو بتقترح للعشا؟", None), ("что предложишь на ужин?", None),
    ("stop", None), ("add milk", None),
    ("stop the suggestions, we are going on holiday for two weeks next month", None),
])
def test_suggestions_are_switched_off_and_on_in_words(text: str, switch: str | None) -> None:
    assert suggestions_switch(text) == switch


@pytest.mark.parametrize(("intent", "text", "name"), [
    (Intent.GROCERY_REQUEST, "напиши хлеб", "хлеб"),
    (Intent.GROCERY_REQUEST, "תזרוק לרשימה ביסלי", "ביסלי"),
    (Intent.GROCERY_REQUEST, "ياريت تحط زيت", "زيت"),
    (Intent.REMOVE_ITEM, "تشيل السمنة", "سمنة"),
    (Intent.REMOVE_ITEM, "תזרוק את הביסלי", "ביסלי"),
])
def test_a_verb_said_another_way_is_not_part_of_the_item(intent: Intent, text: str,
                                                         name: str) -> None:
    assert [i.name for i in extract(intent, text).items] == [name]


@pytest.mark.parametrize(("text", "corrects"), [
    ("actually make it 3 milk not 2.", True),
    ("בעצם צריך קילו וחצי עוף ולא קילו.", True),
    ("لا بدنا كيلو ونص جاج مش كيلو.", True),
    ("яблок полтора кило а не кило", True),
    ("add 2 milk not soy milk", False),    # "not" before an item, not an amount
    ("remove the milk not the eggs", False),
    ("add milk not a kilo", False),        # no amount before "not"
])
def test_an_amount_then_not_and_another_amount_corrects_it(text: str, corrects: bool) -> None:
    assert corrects_amount(text) is corrects
