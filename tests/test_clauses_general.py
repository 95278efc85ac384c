"""Several requests in one message, said in ways no rule was written for: an object put first
after "and" ("…, and the sugar we don't need"), a filler clause ("oops,"), one verb serving two
requests ("show me the list and the invite code"), a command no list has ("и скинь список"),
and a part the model is unsure of alone that its message settles. In he, en, ar and ru, with
the bundled model; single requests stay whole."""

from __future__ import annotations

import pytest

from router.classifier import Classifier
from router.clauses import bare, clauses, handed_on, needs, same_request, shared_verb
from router.router import Router
from router.types import Incoming, Intent, Routed

G, R, L = Intent.GROCERY_REQUEST, Intent.REMOVE_ITEM, Intent.LIST_QUERY


@pytest.fixture(scope="module")
def router(classifier: Classifier) -> Router:
    return Router(classifier)


def decide(router: Router, text: str) -> Routed:
    return router.decide(Incoming(chat_id=1, user_id=1, text=text))


def pieces(text: str) -> list[str]:
    return [text[c.start:c.end] for c in clauses(text)]


def test_an_and_after_a_comma_may_open_a_request_with_its_object() -> None:
    for text, second in [("תוסיף קמח, והסוכר כבר לא צריך", "והסוכר כבר לא צריך"),
                         ("add flour, and the sugar we don't need anymore",
                          "the sugar we don't need anymore"),
                         ("ضيف طحين، والسكر شيله", "والسكر شيله"),
                         ("добавь муку, а сахар уже не нужен", "сахар уже не нужен")]:
        found = clauses(text)
        assert [text[c.start:c.end] for c in found][1] == second
        assert found[1].joined and not found[1].opens
    # A comma alone joins nothing: "…, found a bag" is no request of its own.
    assert not clauses("got everything but cheese, found a bag")[1].joined


def test_a_clause_of_fillers_only_joins_the_next() -> None:
    assert pieces("טעות, הביצים צריכות להיות 12, ותוסיף גם קמח") == [
        "טעות, הביצים צריכות להיות 12", "תוסיף גם קמח"]
    assert pieces("ой, яиц надо 12, и добавь муку") == ["ой, яиц надо 12", "добавь муку"]
    assert pieces("add milk, please") == ["add milk, please"]


def test_plus_joins_two_requests_in_russian_too() -> None:
    assert pieces("добавь молоко плюс покажи список") == ["добавь молоко", "покажи список"]


def test_an_aside_is_read_by_the_model_but_not_handed_on_as_an_item() -> None:
    assert bare("oops, make the eggs 12") == "oops, make the eggs 12"  # it hints at a new amount
    assert handed_on("oops, make the eggs 12") == "make the eggs 12"
    assert handed_on("ой, яиц сделай 12") == "яиц сделай 12"
    assert handed_on("غلط، البيض خليه ١٢") == "البيض خليه ١٢"


def test_a_glued_and_written_apart_cuts_like_and() -> None:
    assert pieces("ضيف خبز و وريني القائمة") == ["ضيف خبز", "وريني القائمة"]
    assert pieces("תוסיף לחם ו תראה לי את הרשימה") == ["תוסיף לחם", "תראה לי את הרשימה"]


def test_a_word_shaped_like_a_command_opens_a_request() -> None:
    # Russian imperatives by their endings, when they name no known item.
    assert pieces("добавь лимоны и скинь список") == ["добавь лимоны", "скинь список"]
    assert pieces("молоко и соль") == ["молоко и соль"]
    assert pieces("убери молоко и соль") == ["убери молоко и соль"]


def test_a_verb_phrase_after_a_command_opens_a_request_without_any_join() -> None:
    assert pieces("add bamba show me what we have") == ["add bamba", "show me what we have"]
    assert pieces("תוסיף במבה תראה לי מה יש") == ["תוסיף במבה", "תראה לי מה יש"]
    assert pieces("ضيف بامبا ورجيني شو في") == ["ضيف بامبا", "ورجيني شو في"]
    assert pieces("добавь бамбу покажи что есть") == ["добавь бамбу", "покажи что есть"]
    # Not inside a question, not after words that only soften the verb, not before a verb
    # that ends its clause (its object came first), not after a lone pronoun.
    assert pieces("when did we last buy coffee?") == ["when did we last buy coffee?"]
    assert pieces("מה צריך לקנות בשביל שקשוקה?") == ["מה צריך לקנות בשביל שקשוקה?"]
    assert pieces("can you please add milk") == ["can you please add milk"]
    # Only after a command: "we want to make sabich so add whatever we need" is one request.
    assert len(pieces("we want to make sabich for the guests so add whatever we need")) == 1
    assert len(pieces("i dont want to be here anymore remove me")) == 1
    assert pieces("сливки удали, и покажи список") == ["сливки удали", "покажи список"]
    assert pieces("הוא מחק לי את כל הרשימה") == ["הוא מחק לי את כל הרשימה"]


def test_an_and_after_a_clause_that_ends_on_its_verb_opens_the_next() -> None:
    # The object first, then its verb (with the object glued on in Arabic): an "and" after
    # it starts the next request, even with no comma.
    assert pieces("الخبز شيله والحليب خليه ٢") == ["الخبز شيله", "والحليب خليه ٢"]
    assert pieces("сливки удали и хлеб добавь") == ["сливки удали", "хлеб добавь"]
    assert pieces("add milk and eggs") == ["add milk and eggs"]
    # A verb pointing back is no new request: "the bread, remove it".
    assert pieces("the bread remove it") == ["the bread remove it"]


def test_a_part_is_read_without_what_only_joins_it() -> None:
    assert bare("ואת הסוכר תעיף", joined=True) == "את הסוכר תעיף"
    assert bare("and then show me the list") == "show me the list"
    assert bare("а потом покажи список") == "покажи список"
    assert bare("ok so وريني القائمة") == "وريني القائمة"
    # Words that say "add" stay: the model needs them.
    assert bare("וגם נייר טואלט") == "וגם נייר טואלט"
    assert bare("also toilet paper") == "also toilet paper"
    # A question word stays, and a glued "and" stays on a part no "and" introduced.
    assert bare("וניל", joined=False) == "וניל"


def test_one_verb_may_serve_two_requests() -> None:
    assert ("show me the list", "show me the invite code") in shared_verb(
        "show me the list and the invite code")
    assert ("תראה לי את הרשימה", "תראה לי את קוד ההזמנה") in shared_verb(
        "תראה לי את הרשימה ואת קוד ההזמנה")
    assert ("وريني الليستة", "وريني كود الدعوة") in shared_verb("وريني الليستة وكود الدعوة")
    assert ("покажи список", "покажи код приглашения") in shared_verb(
        "покажи список и код приглашения")
    assert shared_verb("what do we need for pasta and salad?") == []  # no verb


def test_a_request_without_its_entity_is_its_sibling() -> None:
    assert needs(Intent.LIST_MANAGE, "תראה רשימה") is L
    assert needs(Intent.LIST_MANAGE, "show the pharmacy list") is None
    # "bought the rest" after "they were out of lentils" is no clearing: partial completion
    # names its items in the clause before, so it needs none of its own here.
    assert needs(Intent.PARTIAL_COMPLETION, "bought the rest") is None
    assert needs(Intent.GROCERY_REQUEST, "add milk") is None


def test_a_recipe_and_the_list_are_two_requests_when_the_later_names_its_own() -> None:
    url, ask = Intent.RECIPE_URL.value, Intent.LIST_QUERY.value
    assert same_request(url, ask)  # no words: the pair alone reads as one
    assert same_request(url, ask, "what do we need?")
    for said in ["and show me the list", "ותראה מה יש ברשימה", "ووريني شو في القائمة",
                 "и покажи что в списке"]:
        assert not same_request(url, ask, said), said
    assert not same_request(url, Intent.GROCERY_REQUEST.value, "and add milk")
    assert same_request(url, Intent.GROCERY_REQUEST.value, "add them")
    # Invitations keep their pairs whatever is said.
    assert same_request(Intent.CREATE_INVITE.value, Intent.GET_INVITE_CODE.value, "send the code")


@pytest.mark.parametrize(("text", "intents"), [
    ("https://www.example.com/recipe/lasagna and show me the list", (Intent.RECIPE_URL, L)),
    ("https://www.example.com/recipe/lasagna what do we need?", (Intent.RECIPE_URL,)),
    ("תוסיף קמח, והסוכר כבר לא צריך", (G, R)),
    ("add flour, and the sugar we don't need anymore", (G, R)),
    ("ضيف طحين، والسكر شيله", (G, R)),
    ("добавь муку, а сахар уже не нужен", (G, R)),
    ("show me the list and the invite code", (L, Intent.GET_INVITE_CODE)),
    ("תראה לי את הרשימה ואת קוד ההזמנה", (L, Intent.GET_INVITE_CODE)),
    ("وريني الليستة وكود الدعوة", (L, Intent.GET_INVITE_CODE)),
    ("покажи список и код приглашения", (L, Intent.GET_INVITE_CODE)),
    ("добавь лимоны и скинь список", (G, L)),
    ("תוסיף חומוס, ותראה רשימה", (G, L)),
    ("i'm out of this group, remove my beer from the list", (Intent.LEAVE_GROUP, R)),
    ("الخبز شيله والحليب خليه ٢", (R, Intent.UPDATE_QUANTITY)),
    # "tell me" with "for me" glued on wraps the question; "if only" softens the verb after it
    ("غيري اسم القروب لعيلة وقوليلي مين فيه", (Intent.RENAME_GROUP, Intent.GROUP_INFO)),
    ("يا ريت تضيف زيت وتشيل السمنة", (G, R)),
    ("add bamba show me what we have", (G, L)),
    ("תוסיף במבה תראה לי מה יש", (G, L)),
    ("ضيف بامبا ورجيني شو في", (G, L)),
    ("добавь бамбу покажи что есть", (G, L)),
    ("ضيف خبز و وريني القائمة", (G, L)),
    ("ой, яиц надо 12, и добавь муку", (Intent.UPDATE_QUANTITY, G)),
    # Alone the question is torn between the list and the dish; its message settles it.
    ("add pita, then what do I need for falafel?", (G, Intent.RECIPE_SEARCH)),
])
def test_requests_said_in_new_ways_are_done_in_order(router: Router, text: str,
                                                     intents: tuple[Intent, ...]) -> None:
    routed = decide(router, text)
    assert routed.routed and routed.intents == intents, (text, routed.intents, routed.reason)


def test_each_part_keeps_its_own_items(router: Router) -> None:
    routed = decide(router, "добавь муку, а сахар уже не нужен")
    assert [[i.name for i in e.items] for e in routed.entities_list] == [["муку"], ["сахар"]]
    routed = decide(router, "ضيف طحين، والسكر شيله")
    assert [[i.name for i in e.items] for e in routed.entities_list] == [["طحين"], ["سكر"]]


@pytest.mark.parametrize("text", [
    "add milk and eggs", "תוסיף חלב וביצים", "شيل الحليب والبيض", "убери молоко и соль",
    "remove the milk and the eggs", "rename the group to Home and Family",
    "תוריד את החלב ואת הביצים", "добавь молоко, яйца и хлеб",
])
def test_one_request_stays_one(router: Router, text: str) -> None:
    assert len(decide(router, text).intents) == 1, text


def test_a_greeting_before_one_request_is_passed_over(router: Router) -> None:
    routed = decide(router, "hi bot! add milk")
    assert routed.routed and routed.intents == (G,)
    assert [i.name for i in routed.entities.items] == ["milk"]
    for text in ["привет! добавь молоко и покажи список", "مرحبا، ضيف حليب ووريني القائمة"]:
        routed = decide(router, text)
        assert routed.routed and routed.intents == (G, L), text


def test_a_part_naming_no_list_of_its_own_is_no_list_request(router: Router) -> None:
    # "show me the list and the quantities": the quantities are no named list to show, so
    # the message is not cut into a list question and a list to open.
    assert len(decide(router, "תראה לי את הרשימה ואת הכמויות").intents) == 1


@pytest.mark.parametrize("text", [
    "they were out of lotion, bought the rest",
    "بعتت الكود بالغلط لجروب ثاني، الغيه بسرعة",
    "i found this recipe https://www.example.com/lentil-soup can you add all the ingredients",
    "ok so we want to make malabi for the guests on friday so add whatever we need",
    "@shopbot_family_bot what do i need to get for shakshuka",
    "@shopbot_family_bot when did someone last pick up meatballs?",
    "هنعمل تبولة بكرة هات حاجاتها",
])
def test_one_request_with_a_second_verb_stays_one(router: Router, text: str) -> None:
    assert len(decide(router, text).intents) == 1, text
