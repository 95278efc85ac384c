"""Several requests in one message: where a message is cut, and what the router makes of
each part with the bundled (single-label) model, in Hebrew, English and Arabic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.settings import BUNDLED_MODEL
from router.classifier import Classifier
from router.clauses import clauses, in_place_of, names_an_item, same_request
from router.router import Router
from router.types import Incoming, Intent, Routed

MULTI_MODEL = Path(__file__).resolve().parents[1] / "models" / "intent-multi"
DEV = Path(__file__).with_name("data")


@pytest.fixture(scope="module")
def router(classifier: Classifier) -> Router:
    return Router(classifier)


def decide(router: Router, text: str) -> Routed:
    return router.decide(Incoming(chat_id=1, user_id=1, text=text))


def pieces(text: str) -> list[str]:
    return [text[c.start:c.end] for c in clauses(text)]


def test_a_message_is_cut_at_commas_joins_and_an_and_before_a_verb() -> None:
    assert pieces("קנינו הכל חוץ מהגבינה, ותוסיף גם שמנת") == [
        "קנינו הכל חוץ מהגבינה", "תוסיף גם שמנת"]
    assert pieces("show me the list and add bananas") == ["show me the list", "add bananas"]
    assert pieces("ضيف بندورة وبعدين ورجيني القائمة") == ["ضيف بندورة", "ورجيني القائمة"]
    assert pieces("add milk\nwhat's missing?") == ["add milk", "what's missing?"]


def test_joining_words_of_every_dialect_are_places_to_cut() -> None:
    assert pieces("احذف البيض ثم أضف جبنة") == ["احذف البيض", "أضف جبنة"]
    assert pieces("ضيف طماطم وبعد كده وريني الليستة") == ["ضيف طماطم", "وريني الليستة"]
    assert pieces("ابي حليب وعطني القائمة") == ["ابي حليب", "عطني القائمة"]
    assert pieces("ابي تضيف تمر وتشيل القهوة") == ["ابي تضيف تمر", "تشيل القهوة"]
    assert pieces("תוסיף מלח ותוך כדי תראה לי מה ברשימה") == ["תוסיף מלח", "תראה לי מה ברשימה"]
    assert pieces("убери хлеб, а ещё добавь яйца") == ["убери хлеб", "добавь яйца"]
    # An emoji closes a thought like a comma: a verb after it opens a new request.
    assert pieces("got everything but eggs 👍 show me the list") == [
        "got everything but eggs 👍", "show me the list"]


def test_an_amount_ending_a_sentence_ends_it_but_a_numbered_line_does_not() -> None:
    assert pieces("make the milk 4 instead of 2. anything left to get?") == [
        "make the milk 4 instead of 2.", "anything left to get?"]
    assert pieces("1. milk\n2. eggs") == ["1. milk", "2. eggs"]
    assert pieces("add 1.5 kg tomatoes") == ["add 1.5 kg tomatoes"]


@pytest.mark.parametrize(("text", "rest"), [
    ("zucchini instead", "zucchini"),
    ("put whole wheat bread instead", "put whole wheat bread"),
    ("במקום זה תרשמי טחינה", "תרשמי טחינה"),
    ("כרוב לבן במקום", "כרוב לבן"),
    ("وحط بداله لبنة", "وحط لبنة"),
    ("лучше йогурт", "йогурт"),
    ("we have it instead", None),          # names no grocery, says no "add"
    ("instead of the milk, soy", None),    # a bare "instead" takes an object: only at the end
    ("add milk", None),
])
def test_what_goes_in_place_of_a_removed_item(text: str, rest: str | None) -> None:
    assert in_place_of(text) == rest


def test_an_and_between_items_is_no_place_to_cut() -> None:
    assert pieces("add milk and eggs") == ["add milk and eggs"]
    assert pieces("תוסיף חלב וביצים") == ["תוסיף חלב וביצים"]
    assert pieces("شيل الحليب والبيض") == ["شيل الحليب والبيض"]
    assert pieces("rename the group to Home and Family") == ["rename the group to Home and Family"]
    assert pieces("add 1.5 kg tomatoes") == ["add 1.5 kg tomatoes"]
    assert pieces("молоко и яйца") == ["молоко и яйца"]
    assert pieces("ابي عيش وحليب وبيض") == ["ابي عيش وحليب وبيض"]


def test_a_clause_knows_whether_it_says_add_and_whether_it_points_back() -> None:
    first, second = clauses("got everything but cheese, please add cream")
    assert not first.cue and second.cue and second.opens and not second.strong
    assert clauses("the code leaked, cancel it")[1].refers_back
    assert clauses("הקוד דלף, תבטל אותו")[1].refers_back
    assert clauses("الكود انتشر، الغيه")[1].refers_back
    assert not names_an_item("that") and not names_an_item("הרשימה") and not names_an_item("1")
    assert names_an_item("soy milk")
    assert same_request("GET_INVITE_CODE", "REVOKE_INVITE")
    # Cancelling the code and making a new one is two requests; the other way round is not.
    assert not same_request("REVOKE_INVITE", "CREATE_INVITE")
    assert same_request("CREATE_INVITE", "REVOKE_INVITE")
    # "rename it to Home" says more than "it": a request of its own.
    assert not clauses("got everything\ni want to rename it to Home")[1].refers_back


@pytest.mark.parametrize(("text", "intents", "parts"), [
    ("קנינו הכל חוץ מהגבינה, ותוסיף גם שמנת",
     [Intent.PARTIAL_COMPLETION, Intent.GROCERY_REQUEST], [["גבינה"], ["שמנת"]]),
    ("תוריד את החלב ותוסיף 2 ביצים", [Intent.REMOVE_ITEM, Intent.GROCERY_REQUEST],
     [["חלב"], ["ביצים"]]),
    ("show me the list and add bananas", [Intent.LIST_QUERY, Intent.GROCERY_REQUEST],
     [[], ["bananas"]]),
    ("remove the milk and add 2 eggs", [Intent.REMOVE_ITEM, Intent.GROCERY_REQUEST],
     [["milk"], ["eggs"]]),
    ("شيل الحليب وضيف 2 بيض", [Intent.REMOVE_ITEM, Intent.GROCERY_REQUEST],
     [["حليب"], ["بيض"]]),
    ("ضيف بندورة وبعدين ورجيني القائمة", [Intent.GROCERY_REQUEST, Intent.LIST_QUERY],
     [["بندورة"], []]),
    # An add verb and a known item make an add, however unsure the model is of the clause.
    ("what's the group code? and add chocolate to the list",
     [Intent.GET_INVITE_CODE, Intent.GROCERY_REQUEST], [[], ["chocolate"]]),
    # "tell me" only wraps the question that follows it.
    ("rename the group to Groceries and tell me who's in the group",
     [Intent.RENAME_GROUP, Intent.GROUP_INFO], [[], []]),
    ("תוסיף לחמניות ותגיד מי בקבוצה", [Intent.GROCERY_REQUEST, Intent.GROUP_INFO],
     [["לחמניות"], []]),
    ("امسح الطماطم وزود خيار", [Intent.REMOVE_ITEM, Intent.GROCERY_REQUEST],
     [["طماطم"], ["خيار"]]),
    # "add" before a person is still an invite, not an item.
    ("show me the list and add my wife to the group",
     [Intent.LIST_QUERY, Intent.CREATE_INVITE], [[], []]),
    # An add verb before an item outside the lexicon is an add, not an invitation.
    ("remove the cottage cheese please. add labneh",
     [Intent.REMOVE_ITEM, Intent.GROCERY_REQUEST], [["cottage cheese"], ["labneh"]]),
    ("can you add bananas and show me what we have",
     [Intent.GROCERY_REQUEST, Intent.LIST_QUERY], [["bananas"], []]),
    # A remove verb before a known grocery is a removal, however unsure the model is.
    ("ضيف توم وبصل وامسح الكزبرة", [Intent.GROCERY_REQUEST, Intent.REMOVE_ITEM],
     [["توم", "بصل"], ["كزبرة"]]),
    ("الغي الكود القديم واعمل واحد جديد", [Intent.REVOKE_INVITE, Intent.CREATE_INVITE],
     [[], []]),
    # "I want" (Gulf) before known groceries is an add.
    ("ابي حليب وعطني القائمة", [Intent.GROCERY_REQUEST, Intent.LIST_QUERY], [["حليب"], []]),
])
def test_two_requests_are_both_routed_in_the_order_said_each_with_its_own_items(
        router: Router, text: str, intents: list[Intent], parts: list[list[str]]) -> None:
    routed = decide(router, text)
    assert routed.routed
    assert list(routed.intents) == intents
    assert [[item.name for item in e.items] for e in routed.entities_list] == parts
    assert len(routed.texts) == len(intents) and all(routed.texts)


@pytest.mark.parametrize(("text", "intent", "items"), [
    ("add milk and eggs", Intent.GROCERY_REQUEST, ["milk", "eggs"]),
    ("קנינו הכל חוץ מהגבינה, החלב והלחם", Intent.PARTIAL_COMPLETION,
     ["גבינה", "חלב", "לחם"]),
    ("got everything but cheese, milk and bread", Intent.PARTIAL_COMPLETION,
     ["cheese", "milk", "bread"]),
    ("شيل الحليب، البيض والخبز", Intent.REMOVE_ITEM, ["حليب", "بيض", "خبز"]),
    ("תוסיף עגבניות, מלפפונים ובצל", Intent.GROCERY_REQUEST, ["עגבניות", "מלפפונים", "בצל"]),
    ("ابي رز ودجاج وبهارات", Intent.GROCERY_REQUEST, ["رز", "دجاج", "بهارات"]),
    ("we need tomatoes, cucumbers and onions", Intent.GROCERY_REQUEST,
     ["tomatoes", "cucumbers", "onions"]),
])
def test_items_joined_inside_one_request_stay_one_request(
        router: Router, text: str, intent: Intent, items: list[str]) -> None:
    routed = decide(router, text)
    assert routed.intents == (intent,)
    assert [item.name for item in routed.entities.items] == items


@pytest.mark.parametrize("text", [
    "the code leaked, cancel it", "הקוד דלף, תבטל אותו", "الكود انتشر، الغيه",
])
def test_a_second_clause_that_points_back_is_the_same_request(router: Router,
                                                              text: str) -> None:
    assert decide(router, text).intents == (Intent.REVOKE_INVITE,)


def test_the_threshold_holds_for_every_part(router: Router) -> None:
    strict = Router(router.classifier, threshold=1.0)
    routed = strict.decide(Incoming(chat_id=1, user_id=1, text="show me the list and add "
                                                                "bananas"))
    # No part is sure enough at 1.0, so nothing is split and nothing is acted on.
    assert len(routed.intents) == 1 and not routed.routed


def test_the_margin_holds_for_every_part(router: Router) -> None:
    narrow = Router(router.classifier, margin=1.0)
    routed = narrow.decide(Incoming(chat_id=1, user_id=1, text="remove the milk and show me "
                                                                "the list"))
    assert len(routed.intents) == 1 and not routed.routed


def test_chit_chat_beside_one_request_is_dropped_when_the_whole_is_unsure(
        router: Router) -> None:
    routed = decide(router, "תודה, תוסיף גם לחם")
    assert routed.routed and routed.intents == (Intent.GROCERY_REQUEST,)
    assert [item.name for item in routed.entities.items] == ["לחם"]


def test_the_multi_label_model_honours_threshold_and_margin() -> None:
    classifier = Classifier.from_dir(MULTI_MODEL)
    text = Incoming(chat_id=1, user_id=1, text="add bread and show me the list")
    assert Router(classifier).decide(text).routed
    assert not Router(classifier, threshold=1.0).decide(text).routed
    assert not Router(classifier, margin=1.0).decide(text).routed
    unsure = Incoming(chat_id=1, user_id=1, text="hmm the thing for tomorrow with grandma?")
    assert not Router(classifier, threshold=1.0).decide(unsure).routed


def test_the_written_compound_messages_are_mostly_routed_whole_and_in_order(
        router: Router) -> None:
    # Our own development set (not the evaluation set): a floor, so a change that breaks
    # splitting in one language shows here.
    rows = [json.loads(line) for line in (DEV / "compound_dev.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    by_language: dict[str, list[bool]] = {}
    for row in rows:
        routed = decide(router, row["text"])
        right = routed.routed and [i.value for i in routed.intents] == row["intents"]
        by_language.setdefault(row["lang"], []).append(right)
    rates = {lang: sum(v) / len(v) for lang, v in by_language.items()}
    assert set(rates) == {"he", "en", "ar"}
    assert all(rate >= 0.85 for rate in rates.values()), rates


def test_fresh_compound_dev_sets_hold_with_the_bundled_model() -> None:
    model = BUNDLED_MODEL
    # compound_dev5/6 were written apart from the cut rules (dev6 after the first round of
    # fixes); the splitter was tuned with two models (it must not lean on one model's
    # confidence quirks) and is held here with the one that ships; no single-request control
    # may be cut in two.
    router = Router(Classifier.from_dir(model))
    right: dict[str, list[bool]] = {}
    cut = 0
    for path in sorted(DEV.glob("compound_dev[56]_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["lang"] not in ("he", "en", "ar"):
                continue  # Russian waits for a model that knows it
            routed = decide(router, row["text"])
            if len(row["intents"]) > 1:
                right.setdefault(row["lang"], []).append(
                    routed.routed and [i.value for i in routed.intents] == row["intents"])
            else:
                cut += len(routed.intents) > 1
    rates = {lang: sum(v) / len(v) for lang, v in right.items()}
    assert set(rates) == {"he", "en", "ar"}
    assert all(rate >= 0.85 for rate in rates.values()), rates
    assert cut == 0


@pytest.mark.parametrize("text", ["who deleted the sugar from the list?",
                                  "מי מחק את הסוכר מהרשימה?", "مين مسح السكر من القائمة؟",
                                  "кто удалил сахар из списка?"])
def test_asking_who_removed_an_item_changes_nothing(router: Router, text: str) -> None:
    routed = decide(router, text)
    assert routed.routed and routed.intents == (Intent.HISTORY_QUERY,), routed.reason


def test_asking_who_is_in_the_group_beside_a_request_is_no_history_question(
        router: Router) -> None:
    # Two clauses: "who" asks about the group in one; only a one-clause "who …" message the
    # model reads as a change is a question about the list's history.
    routed = decide(router, "who's in this chat now? also batteries (AA)")
    assert Intent.HISTORY_QUERY not in routed.intents
