"""Hebrew typed on the English keyboard layout: read as meant, and English never touched."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.dispatch import Dispatcher
from bot.settings import BUNDLED_MODEL
from db.store import UnitOfWorkFactory
from handlers.i18n import render
from router.classifier import Classifier
from router.layout import keyboard, retype
from router.router import Router
from router.types import ChatKind, Incoming, Intent
from tests.support.direct import DANA, FAMILY_CHAT, open_items

EVAL = Path(__file__).parents[1] / "models" / "corpus" / "eval" / "realistic.jsonl"

# Written for this test, none from the corpus: what English speakers say in a family chat.
ENGLISH = [
    "ok", "ok lol", "lol", "thx", "thanks!", "go", "tbh idk", "brb", "hmm", "yep", "nope",
    "hi", "hey guys", "Dana?", "good morning", "see you later", "omg yes", "nvm",
    "add milk", "get bread", "milk and eggs", "we're out of coffee", "can you grab oat milk",
    "pick up some apples on the way home", "what's on the list?", "who's going to the store?",
    "I'll go after work", "never mind, found it", "did anyone buy the hummus",
    "just got back from costco", "remove the chips", "we have enough pasta",
    "kids want pizza tonight", "dinner at 7", "running late, sorry", "where are the keys",
    "love you", "call me", "traffic is awful", "it's raining again", "done!",
    "clear the list", "new code please", "rename us to Smith family", "leave this group",
    "bug: buttons don't work", "2 lbs ground beef", "tofu", "kombucha", "la croix",
    "Trader Joe's", "brb 5 min", "xoxo", "gg", "zzz", "hbu", "wyd", "np",
    "ASAP please", "GET MILK", "Costco run sat?", "pls", "k", "kk", "sup",
    # Arabic written in Latin letters (Arabizi) is not Hebrew typed on the wrong layout either.
    "bdna 7alib w 5obz", "yalla", "mashi", "shu na2es?", "ok habibi", "la2", "mar7aba",
    "ya3ni", "khalas", "shukran", "bukra", "kaman", "sabah el kheir",
]
# Keys pressed with the English layout on, and the Hebrew they make on the Hebrew one.
MISTYPED = [
    ("jkc' kjo", "חלב, לחם"),
    ("jkc, kjo", "חלב, לחם"),  # "," is ת on the Hebrew keyboard, but "חלבת" is no word
    (",uxh; jkc uchmho", "תוסיף חלב וביצים"),
    ("vxr kjo", "הסר לחם"),
    ("JKC", "חלב"),  # Caps Lock on
    ("ehbh, jkc", "קינית חלב"),  # a word that ends in ת keeps it
    ("xhrup nhhpk", "סירופ מייפל"),  # loanwords may end in a non-final pe
]


@pytest.fixture(scope="module")
def router(classifier: Classifier) -> Router:
    return Router(classifier)


@pytest.mark.parametrize("text", ENGLISH)
def test_english_chat_is_never_retyped(text: str, router: Router) -> None:
    assert retype(text) is None
    # Nor by the router, which also asks the bundled model about the Hebrew its keys make.
    routed = router.decide(Incoming(chat_id=1, user_id=1, text=text))
    assert routed.typed is None
    assert routed.incoming.text == text


def test_no_english_message_of_the_evaluation_set_is_retyped() -> None:
    lines = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    english = [line["text"] for line in lines if line.get("lang") == "en"]
    assert len(english) > 100
    assert [text for text in english if retype(text) is not None] == []


@pytest.mark.parametrize(("typed", "meant"), MISTYPED)
def test_hebrew_typed_on_the_english_layout_is_read_as_meant(typed: str, meant: str) -> None:
    assert retype(typed) == meant


def test_the_router_decides_on_the_hebrew_meant_and_keeps_what_was_typed(
        router: Router) -> None:
    routed = router.decide(Incoming(chat_id=1, user_id=1, text=",uxh; jkc uchmho"))
    assert routed.intent is Intent.GROCERY_REQUEST and routed.routed
    assert [item.name for item in routed.entities.items] == ["חלב", "ביצים"]
    assert routed.typed == ",uxh; jkc uchmho"
    assert routed.lang == "he"


def test_words_outside_the_lists_count_only_when_the_model_is_sure_of_the_hebrew() -> None:
    typed = "ndkdk"  # מגלגל: well formed, in neither word list
    assert retype(typed) is None
    assert retype(typed, sure=lambda text: not text.isascii()) == "מגלגל"
    assert retype(typed, sure=lambda _text: True) is None  # sure of the original too


@pytest.mark.parametrize("text", ["חלב", "خبز", "/list", "https://example.com/jkc",
                                  "@dana jkc", "123", "jkc חלב", ""])
def test_other_scripts_commands_links_and_mentions_are_left_alone(text: str) -> None:
    assert retype(text) is None


def test_the_key_map_covers_every_letter_key() -> None:
    keys = keyboard().keys
    assert set("abcdefghijklmnopqrstuvwxyz,.;'/") <= set(keys)
    assert len(set(keys.values())) == len(keys)


async def test_did_you_mean_on_a_retyped_message_shows_it_and_the_press_acts_on_the_hebrew(
        uow: UnitOfWorkFactory) -> None:
    # Every model decision is unsure at threshold 1.0: the bot asks what was meant.
    dispatcher = Dispatcher(Router(Classifier.from_dir(BUNDLED_MODEL), threshold=1.0), uow)
    typed = Incoming(chat_id=FAMILY_CHAT, user_id=DANA, text=",urhs t, vkjo",
                     chat_kind=ChatKind.GROUP, user_name="Dana", chat_title="Family",
                     addressed=True)
    await dispatcher.handle_message(replace(typed, text="/add bread"))
    asked = await dispatcher.handle_message(typed)
    assert asked.reply is not None and asked.reply.key == "did_you_mean"
    assert "⌨️ ',urhs t, vkjo'" in render(asked.reply)
    pressed = await dispatcher.handle_button(typed, "p:REMOVE_ITEM")
    assert pressed.routed is not None and pressed.routed.incoming.text != typed.text
    assert await open_items(uow) == []
    async with uow() as unit:
        stored = await unit.log.fallbacks()
    assert [d.text for d in stored] == [pressed.routed.incoming.text]


def test_a_list_typed_one_item_a_line_keeps_its_lines() -> None:
    assert retype("jkc\nchmho\nkjo") == "\n".join(["חלב", "ביצים", "לחם"])
