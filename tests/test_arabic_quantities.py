"""Arabic amounts as families write them, in every dialect the bot hears.

Gulf, Egyptian, Levantine and plain MSA requests put words before the amount ("جيبلنا معك",
"سجل عندك", "ممكن حدا يجيب"), count with words and duals ("ثنتين", "درزن", "ازازتين"), add
halves after the unit ("كيلو ونص") and set a new amount with "خليه"/"بدل … خليهم". Each case
is what the list would show: the item's name, its amount and its unit.
"""

from __future__ import annotations

import pytest

from router.entities import extract, is_bare_item_list, parse_items
from router.types import Intent

Amount = tuple[str, float | None, str | None]


def _amounts(intent: Intent, text: str) -> list[Amount]:
    return [(item.name, item.quantity, item.unit) for item in extract(intent, text).items]


@pytest.mark.parametrize(("text", "expected"), [
    ("ابغى ثنتين خس", [("خس", 2.0, None)]),
    ("جيبلنا معك كيلو ونص بندورة", [("بندورة", 1.5, "كيلو")]),
    ("سجل عندك درزن بيض", [("بيض", 12.0, None)]),
    ("عاوز ازازتين زيت", [("زيت", 2.0, "قنينة")]),
    ("هاتي معاكي باكو شاي", [("شاي", 1.0, "باكيت")]),
    ("محتاجين ٣ أرغفة خبز", [("خبز", 3.0, "رغيف")]),
    ("جيبوا معكم كرتونين مي", [("مي", 2.0, "كرتونة")]),
    ("ممكن حدا يجيب كيسين خبز", [("خبز", 2.0, "كيس")]),
    ("أرجو إضافة كيلوين من الرز", [("رز", 2.0, "كيلو")]),
    ("موز ٢ كيلو ونص", [("موز", 2.5, "كيلو")]),
    ("دستة بيض", [("بيض", 12.0, None)]),
    ("جيب بصلتين", [("بصلة", 2.0, None)]),
    ("أريد خمس علب حمص", [("حمص", 5.0, "علبة")]),
])
def test_arabic_request_words_leave_the_amount_on_the_item(
        text: str, expected: list[Amount]) -> None:
    assert _amounts(Intent.GROCERY_REQUEST, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("بدنا ربطة بقدونس وحدة", [("بقدونس", 1.0, "ربطة")]),
    ("علبة تونة تنتين", [("تونة", 2.0, "علبة")]),
    ("كيلو لحمة واحد", [("لحمة", 1.0, "كيلو")]),
])
def test_one_written_as_a_word_after_the_item_is_its_amount_not_another_item(
        text: str, expected: list[Amount]) -> None:
    assert _amounts(Intent.GROCERY_REQUEST, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("بدل ٤ علب لبن خليهم ست", [("لبن", 6.0, "علبة")]),
    ("الرز خليه كيلوين", [("رز", 2.0, "كيلو")]),
    ("البطاطا خليها كيلو ونص بدل كيلو", [("بطاطا", 1.5, "كيلو")]),
    ("عدل الجبنة لكيلو واحد", [("جبنة", 1.0, "كيلو")]),
    ("خلي العصير ثلاث بدال اثنين", [("عصير", 3.0, None)]),
    ("الخيار مو ٣ خليه ٥", [("خيار", 5.0, None)]),
])
def test_a_new_arabic_amount_is_the_one_after_the_word_that_sets_it(
        text: str, expected: list[Amount]) -> None:
    assert _amounts(Intent.UPDATE_QUANTITY, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("اشتريت كل شي عدا اللبنة", ["لبنة"]),
    ("جبت كل الأغراض بس الخبز خلص", ["خبز"]),
    ("كلو تمام بس الجبنة كانت خلصانة عندهم", ["جبنة"]),
    ("تم شراء جميع المشتريات باستثناء الزيت", ["زيت"]),
    ("جبت كل الالبان الا اللبنة", ["لبنة"]),
])
def test_all_except_in_arabic_keeps_only_the_excepted_item(
        text: str, expected: list[str]) -> None:
    assert [name for name, _q, _u in _amounts(Intent.PARTIAL_COMPLETION, text)] == expected


def test_a_word_for_except_inside_another_word_is_not_taken_for_one() -> None:
    # "الالبان" begins with "الا" (except); only a word of its own marks the exception.
    assert [i.name for i in extract(Intent.PARTIAL_COMPLETION, "جبت الالبان كلها").items] == []


@pytest.mark.parametrize("text", ["محتاجين ٣ علب لبنة", "ممكن حد يجيب ربطتين بقدونس",
                                  "ناقصنا خبز وحليب"])
def test_known_items_after_an_arabic_request_word_are_a_grocery_list(text: str) -> None:
    assert is_bare_item_list(text)


def test_items_named_with_a_unit_word_stay_whole() -> None:
    assert [(i.name, i.quantity) for i in parse_items("بدنا صحون بلاستيك")] == [
        ("صحون بلاستيك", None)]
