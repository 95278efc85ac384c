"""Normalization, language detection and entity extraction on real-looking messages."""

from __future__ import annotations

import pytest

from router.entities import extract
from router.normalize import clean_text, detect_language, normalize
from router.types import Intent


def items(intent: Intent, text: str) -> list[tuple[str, float | None, str | None]]:
    return [(i.name, i.quantity, i.unit) for i in extract(intent, text).items]


def test_normalize_strips_niqqud_harakat_tatweel_and_controls() -> None:
    assert normalize("\u200fחָלָב\u200b") == "חלב"
    assert normalize("خُبْـــز") == "خبز"
    assert normalize("أريد إضافة آخر") == "اريد اضافه اخر"


def test_normalize_replaces_urls_and_mentions_and_squeezes_repeats() -> None:
    assert normalize("@shopbot_bot הנה https://x.example/a?b=1") == "<mention> הנה <url>"
    assert normalize("תודההההה!!!!") == "תודהה!!"
    assert normalize("MILK ٣") == "milk 3"


def test_clean_text_keeps_meaning_but_drops_invisibles() -> None:
    assert clean_text("  גבינה\u200d צהובה ") == "גבינה צהובה"


@pytest.mark.parametrize(("text", "lang"), [
    ("תוסיף milk בבקשה", "he"), ("بدنا خبز", "ar"), ("need eggs", "en"), ("👍", "he"),
])
def test_language_is_the_script_the_message_is_written_in(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_language_of_a_message_without_letters_follows_the_hint() -> None:
    assert detect_language("👍 3", hint="ar-EG") == "ar"


@pytest.mark.parametrize(("text", "expected"), [
    ("תוסיף חלב וביצים", [("חלב", None, None), ("ביצים", None, None)]),
    ('צריך 2 ק"ג עגבניות, חצי קילו גבינה צהובה ושלושה מלפפונים',
     [("עגבניות", 2, "קילו"), ("גבינה צהובה", 0.5, "קילו"), ("מלפפונים", 3, None)]),
    ("חלב ביצים לחם", [("חלב", None, None), ("ביצים", None, None), ("לחם", None, None)]),
    ("קילו וחצי עגבניות", [("עגבניות", 1.5, "קילו")]),
    ("זוג אבוקדו", [("אבוקדו", 2, None)]),
    ("a dozen eggs and half a kilo of cheese", [("eggs", 12, None), ("cheese", 0.5, "kg")]),
    ("need 2 kg tomatoes", [("tomatoes", 2, "kg")]),
    ("milk x3", [("milk", 3, None)]),
    ("بدنا خبز وحليب", [("خبز", None, None), ("حليب", None, None)]),
    ("كيلوين بندورة", [("بندورة", 2, "كيلو")]),
    ("٣ خيار", [("خيار", 3, None)]),
    ("חלב\nביצים\nלחם 🙏", [("חלב", None, None), ("ביצים", None, None), ("לחם", None, None)]),
])
def test_grocery_items_with_amounts(text: str, expected: list[tuple[str, float | None,
                                                                  str | None]]) -> None:
    assert items(Intent.GROCERY_REQUEST, text) == expected


def test_remove_strips_hebrew_and_arabic_articles() -> None:
    assert items(Intent.REMOVE_ITEM, "תוריד את הביצים") == [("ביצים", None, None)]
    assert items(Intent.REMOVE_ITEM, "شيل الرز") == [("رز", None, None)]


def test_partial_completion_names_only_what_was_not_bought() -> None:
    assert items(Intent.PARTIAL_COMPLETION, "קנינו הכל חוץ מהחלב והלחם") == [
        ("חלב", None, None), ("לחם", None, None)]
    assert items(Intent.PARTIAL_COMPLETION, "got everything but eggs") == [("eggs", None, None)]


def test_update_quantity_takes_the_new_amount() -> None:
    assert items(Intent.UPDATE_QUANTITY, "בעצם 3 חלב, לא 2") == [("חלב", 3, None)]
    assert items(Intent.UPDATE_QUANTITY, "תשנה את החלב ל-4") == [("חלב", 4, None)]
    assert items(Intent.UPDATE_QUANTITY, "make the eggs 2 cartons") == [("eggs", 2, "carton")]


def test_other_entities() -> None:
    assert extract(Intent.RENAME_GROUP, "שנה שם למשפחת כהן").new_name == "משפחת כהן"
    assert extract(Intent.RENAME_GROUP, "rename the group to Home").new_name == "Home"
    assert extract(Intent.NOTIFICATION_SETTINGS, "בלי התראות בבקשה").state == "off"
    assert extract(Intent.NOTIFICATION_SETTINGS, "turn notifications back on").state == "on"
    assert extract(Intent.NOTIFICATION_SETTINGS, "are my notifications on?").state == "status"
    assert extract(Intent.NOTIFICATION_SETTINGS, "can you turn them off?").state == "off"
    assert extract(Intent.NOTIFICATION_SETTINGS, "אני מקבל התראות?").state == "status"
    assert extract(Intent.RECIPE_SEARCH, "מה צריך לשקשוקה?").dish == "שקשוקה"
    assert extract(Intent.RECIPE_SEARCH, "ingredients for lasagna").dish == "lasagna"
    assert extract(Intent.RECIPE_URL, "הנה מתכון www.example.com/r/1.").url == \
        "https://www.example.com/r/1"


def test_every_language_catalog_has_every_message_with_the_same_placeholders() -> None:
    import string

    from babel.messages.pofile import read_po

    from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES, LOCALES, MESSAGES

    def placeholders(value: object) -> set[str]:
        texts = value if isinstance(value, (list, tuple)) else [value]
        return {name for t in texts for _, name, _, _ in string.Formatter().parse(str(t))
                if name}

    def read(lang: str) -> dict[str, object]:
        with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            return {(m.id[0] if isinstance(m.id, tuple) else m.id): m.string
                    for m in read_po(handle) if m.id}

    assert {"he", "en", "ar"} <= set(LANGUAGES)
    default = read(DEFAULT_LANGUAGE)
    for lang in LANGUAGES:
        catalog = read(lang)
        assert set(catalog) == set(MESSAGES), f"{lang}: keys differ from the default catalog"
        for key, value in catalog.items():
            assert value, f"{lang}: {key} is empty"
            # A plural form may leave the number out ("one egg"), nothing else.
            assert placeholders(value) - {"count"} == placeholders(default[key]) - {"count"}, (
                f"{lang}: {key} has other placeholders than {DEFAULT_LANGUAGE}")


def test_plural_forms_follow_each_languages_rule() -> None:
    from handlers import i18n

    catalog = i18n._catalog("ar")
    # Arabic: 0, 1, 2, 3-10, 11-99, 100+ take different forms.
    assert [catalog.plural(n) for n in (0, 1, 2, 5, 11, 100)] == [0, 1, 2, 3, 4, 5]
    assert [i18n._catalog("he").plural(n) for n in (1, 2, 7)] == [0, 1, 2]
    assert [i18n._catalog("en").plural(n) for n in (1, 2)] == [0, 1]
