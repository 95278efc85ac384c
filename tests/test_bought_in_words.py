"""'Bought milk' said in words ticks those lines, as their tick buttons would: the rule
(router.dialogue.items_bought, words.json `bought_words`, `bought_leads`, `bought_all`) and the
dispatcher applying it before the model (bot/dispatch.py, handlers.items.tick_named)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dispatch import Dispatcher
from db.history import events
from db.models import ProcessedUpdate
from db.store import UnitOfWorkFactory
from handlers.i18n import render
from router.dialogue import items_bought
from router.types import ChatKind, Incoming
from tests.support.botapi import BotApiEmulator
from tests.support.direct import DANA, FAMILY_CHAT, open_items
from tests.support.running import count, polled, settled, texts
from tests.support.running import open_item_names as batch_open_items


@pytest.mark.parametrize(("text", "names"), [
    ("קניתי חלב", ["חלב"]),
    ("קנינו את החלב והלחם", ["חלב", "לחם"]),
    ("קָנִיתִי אֶת הֶחָלָב", ["חלב"]),  # niqqud
    ("✅ קניתי חלב 🥛", ["חלב"]),  # emoji around the words
    ("כבר קניתי ביצים", ["ביצים"]),
    ("הבאתי לחם", ["לחם"]),
    ("יש כבר חלב", ["חלב"]),
    ("bought milk", ["milk"]),
    ("I got the eggs and the bread", ["eggs", "bread"]),
    ("we picked up milk, eggs and bread", ["milk", "eggs", "bread"]),
    ("Bought milk.", ["milk"]),
    ("اشتريت الحليب", ["حليب"]),
    ("جبت الخبز", ["خبز"]),
    ("اشترينا الحليب والخبز", ["حليب", "خبز"]),
    ("جبنا البيض", ["بيض"]),
    ("купил молоко", ["молоко"]),
    ("я уже купила молоко и хлеб", ["молоко", "хлеб"]),
    ("взяли яйца", ["яйца"]),
    # "thanks" after the items is no request of its own
    ("קניתי חלב, תודה", ["חלב"]),
    ("bought milk, thanks", ["milk"]),
    ("اشتريت الحليب، شكرا", ["حليب"]),
    ("купил молоко, спасибо", ["молоко"]),
])
def test_a_bought_verb_and_items_names_the_items(text: str, names: list[str]) -> None:
    items = items_bought(text)
    assert items is not None and [item.name for item in items] == names


@pytest.mark.parametrize("text", [
    # everything, or everything but some: CLEAR_LIST and PARTIAL_COMPLETION as before
    "קנינו הכל חוץ מהחלב", "קניתי הכל", "קנינו את השאר", "bought everything",
    "got everything but the eggs", "bought the rest", "اشترينا كل شي إلا الحليب",
    "اشتريت كلشي", "купили всё кроме хлеба", "купила всё", "остальное купили",
    # questions, a verb alone, words with no item, a link, a long story
    "did you buy milk?", "קנית חלב?", "اشتريت الحليب؟", "bought", "קניתי", "got it",
    "bought milk https://example.com/milk", "I got milk yesterday at the shop near the station "
    "for grandma and the kids",
    # another verb first: an add, a removal
    "תוסיף חלב", "add milk", "remove the milk",
    # a request after the items: the router cuts the message as before
    "קניתי חלב ותוסיף ביצים", "bought milk and show me the list", "اشتريت الحليب وزيد بيض",
    "купил молоко и хлеб, добавь яйца",
    # a time: a story or a history question, not the shop
    "קניתי חלב אתמול", "bought milk last week", "اشتريت حليب مبارح", "купил молоко вчера",
])
def test_other_messages_are_not_items_bought(text: str) -> None:
    assert items_bought(text) is None


def say(text: str, kind: ChatKind = ChatKind.PRIVATE, addressed: bool = False,
        update_id: int | None = None) -> Incoming:
    return Incoming(chat_id=FAMILY_CHAT if kind is ChatKind.GROUP else DANA, user_id=DANA,
                    text=text, chat_kind=kind, user_name="Dana",
                    addressed=addressed or kind is ChatKind.PRIVATE, update_id=update_id,
                    chat_title="Family")


async def test_bought_in_words_is_a_tick_undone_by_undo(dispatcher: Dispatcher,
                                                       uow: UnitOfWorkFactory) -> None:
    await dispatcher.handle_message(say("/add milk, bread, eggs"))
    outcome = await dispatcher.handle_message(say("bought milk and the eggs", update_id=7))
    assert outcome.reply is not None and outcome.reply.key == "ticked"
    assert render(outcome.reply) == "✓ Bought: milk, eggs"
    assert await open_items(uow, DANA) == [("bread", None, None)]
    async with uow() as unit:
        chat = await unit.groups.chat(DANA)
        assert chat is not None
        bought = [e for e in await events(unit.session, chat.group_id) if e.kind == "bought"]
    # Recorded as a tick (history, aisle order and suggestions read ticks).
    assert sorted(e.name for e in bought) == ["eggs", "milk"] and all(e.tick for e in bought)
    again = await dispatcher.handle_message(say("bought milk and the eggs", update_id=7))
    assert again.duplicate
    undone = await dispatcher.handle_message(say("/undo"))
    assert undone.reply is not None and undone.reply.key == "undone"
    assert sorted(n for n, _q, _u in await open_items(uow, DANA)) == ["bread", "eggs", "milk"]


async def test_words_that_are_no_items_go_to_the_model(dispatcher: Dispatcher,
                                                       uow: UnitOfWorkFactory) -> None:
    await dispatcher.handle_message(say("/add milk"))
    outcome = await dispatcher.handle_message(say("got a question", update_id=9))
    # Routed by the model (nothing of the rule's transaction stayed: not even the update).
    assert outcome.routed is not None and not outcome.duplicate
    assert outcome.reply is None or outcome.reply.key not in ("ticked", "bought_not_listed")


async def test_a_grocery_not_on_the_list_is_said_and_not_added(dispatcher: Dispatcher,
                                                               uow: UnitOfWorkFactory) -> None:
    await dispatcher.handle_message(say("/add milk"))
    outcome = await dispatcher.handle_message(say("קניתי לחם"))
    assert outcome.reply is not None and outcome.reply.key == "bought_not_listed"
    assert await open_items(uow, DANA) == [("milk", None, None)]


async def test_family_talk_in_a_group_ticks_but_never_answers_about_other_things(
        dispatcher: Dispatcher, uow: UnitOfWorkFactory) -> None:
    await dispatcher.handle_message(say("/add חלב", kind=ChatKind.GROUP))
    ticked = await dispatcher.handle_message(say("קניתי חלב", kind=ChatKind.GROUP))
    assert ticked.reply is not None and ticked.reply.key == "ticked"
    assert await open_items(uow) == []
    # Not addressed and nothing on the list: no "not on the list" in the family's chat.
    talk = await dispatcher.handle_message(say("קניתי לחם", kind=ChatKind.GROUP))
    assert talk.reply is None or talk.reply.key != "bought_not_listed"


async def test_in_a_polled_batch_a_fall_through_leaves_no_trace(emulator: BotApiEmulator,
                                                                tmp_path: Path) -> None:
    """Inside a fetched batch (a savepoint per update) the rule's rolled-back savepoint
    neither marks its update processed nor keeps the next update from running."""
    dana = emulator.user(11, "Dana", language_code="en")
    home = emulator.group(-1009000000111, "Home")
    for text in ("/add milk, bread", "bought milk", "got a question", "/add eggs"):
        emulator.send_text(home, dana, text)
    async with polled(emulator, "sqlite", tmp_path) as services:
        await settled(emulator, lambda: len(emulator.sent(home["id"])) >= 3)
        assert await batch_open_items(services) == ["bread", "eggs"]
        assert await count(services, ProcessedUpdate) == 4
    said = texts(emulator, home["id"])
    assert "✓ Bought: milk" in said[1] and "eggs" in said[-1]
