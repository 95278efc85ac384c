"""Dialogue in words: undo said in words, answers to the bot's last question, and commands
meant for other bots, through the real dispatcher, model and SQLite file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.dispatch import QUESTION_TTL, Dispatcher
from db.store import UnitOfWorkFactory, utcnow
from router.classifier import Classifier
from router.dialogue import Choice, is_undo, read_answer
from router.router import Router
from router.types import ChatKind, Incoming, Source
from tests.support.direct import DANA, FAMILY_CHAT, YOSSI, open_items

DATA = Path(__file__).with_name("data")
# Every model decision counts as unsure, so "did you mean" is asked whatever the model says.
NEVER_SURE = 1.0


@pytest.fixture
def dispatcher(classifier: Classifier, uow: UnitOfWorkFactory) -> Dispatcher:
    return Dispatcher(Router(classifier), uow, bot_username="shopbot")


def say(text: str, user_id: int = DANA, update_id: int | None = None,
        kind: ChatKind = ChatKind.GROUP) -> Incoming:
    return Incoming(chat_id=FAMILY_CHAT if kind is ChatKind.GROUP else user_id,
                    user_id=user_id, text=text, chat_kind=kind,
                    user_name={DANA: "Dana", YOSSI: "Yossi"}[user_id], addressed=True,
                    update_id=update_id, chat_title="Family")


async def question(uow: UnitOfWorkFactory, chat_id: int = FAMILY_CHAT) -> dict[str, Any] | None:
    async with uow() as unit:
        chat = await unit.groups.chat(chat_id)
        return dict(chat.question) if chat is not None and chat.question else None


@pytest.mark.parametrize("name", ["undo_dev.jsonl", "undo_eval.jsonl"])
def test_undo_in_words_is_told_from_look_alikes_in_three_languages(name: str) -> None:
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    by_language: dict[str, list[bool]] = {}
    for row in rows:
        by_language.setdefault(row["lang"], []).append(is_undo(row["text"]) == row["undo"])
    assert set(by_language) == {"he", "en", "ar"}
    assert all(sum(v) / len(v) >= 0.95 for v in by_language.values()), by_language
    # Never a false undo: "cancel the invite code" must stay a revoke.
    assert not [row["text"] for row in rows if is_undo(row["text"]) and not row["undo"]]


WHICH = [Choice("option", "חלב"), Choice("option", "חלב סויה"), Choice("all", "את כולם")]
CONFIRM = [Choice("yes", "Yes, mark them"), Choice("no", "No")]
DISH = [Choice("all", "➕ Add all"), Choice("option", "➕ 2 eggs"),
        Choice("option", "➕ tomatoes")]


@pytest.mark.parametrize(("text", "choices", "pressed"), [
    ("השני", WHICH, 1), ("זה של הסויה", WHICH, 1), ("חלב", WHICH, 0), ("את כולם", WHICH, 2),
    ("the second one", WHICH, 1), ("التاني", WHICH, 1), ("ה-1", WHICH, 0),
    ("yes", CONFIRM, 0), ("כן", CONFIRM, 0), ("اه", CONFIRM, 0), ("أيوا", CONFIRM, 0),
    ("sure!", CONFIRM, 0), ("no", CONFIRM, 1), ("לא", CONFIRM, 1), ("لا", CONFIRM, 1),
    ("add them all", DISH, 0), ("תוסיף את כולם", DISH, 0), ("ضيفهم كلهم", DISH, 0),
    ("the tomatoes", DISH, 2),
])
def test_words_press_the_button_they_name(text: str, choices: list[Choice],
                                          pressed: int) -> None:
    assert read_answer(text, choices) == pressed


@pytest.mark.parametrize(("text", "choices"), [
    ("וגם לחם", WHICH), ("and eggs too", WHICH), ("و كمان بيض", WHICH), ("כן", WHICH),
    ("the second one", CONFIRM), ("add them all", CONFIRM), ("the fifth one", DISH),
    ("add milk and show me the list please now", DISH),
])
def test_words_that_answer_nothing_are_a_new_message(text: str,
                                                     choices: list[Choice]) -> None:
    assert read_answer(text, choices) is None


async def test_did_you_mean_answered_in_words_routes_the_original_message(
        classifier: Classifier, uow: UnitOfWorkFactory) -> None:
    dispatcher = Dispatcher(Router(classifier, threshold=NEVER_SURE), uow)
    text = "אפשר מלפפונים בבקשה אחי"
    asked = await dispatcher.handle_message(say(text, update_id=1))
    assert asked.reply is not None and asked.reply.key == "did_you_mean"
    stored = await question(uow)
    assert stored is not None and stored["user_id"] == DANA and stored["text"] == text
    first = [o["data"] for o in stored["options"]].index("p:GROCERY_REQUEST") + 1
    ordinal = {1: "הראשון", 2: "השני", 3: "השלישי"}[first]
    answered = await dispatcher.handle_message(say(ordinal, update_id=2))
    # The same path as pressing the button: the user chose, and the words were added.
    assert answered.routed is not None and answered.routed.source is Source.USER
    assert answered.reply is not None and answered.reply.key == "added"
    assert not answered.reply.edit and answered.reply.lang == "he"
    assert [name for name, _q, _u in await open_items(uow)] == ["מלפפונים"]
    assert await question(uow) is None


async def test_a_new_message_from_the_member_asked_clears_the_question(
        dispatcher: Dispatcher, uow: UnitOfWorkFactory) -> None:
    await dispatcher.handle_message(say("add milk, soy milk and bread"))
    asked = await dispatcher.handle_message(say("remove the milk", user_id=YOSSI))
    assert asked.reply is not None and asked.reply.key == "ask_remove"
    assert (await question(uow) or {}).get("user_id") == YOSSI
    # Dana's words are not Yossi's answer: silence, and his question still waits.
    other = await dispatcher.handle_message(say("the second one"))
    assert other.reply is None
    assert (await question(uow) or {}).get("user_id") == YOSSI
    follow_up = await dispatcher.handle_message(say("and eggs too", user_id=YOSSI))
    assert follow_up.reply is not None and follow_up.reply.key == "added"
    assert await question(uow) is None
    late = await dispatcher.handle_message(say("the second one", user_id=YOSSI))
    assert late.reply is None or late.reply.key != "removed"
    assert sorted(name for name, _q, _u in await open_items(uow)) == [
        "bread", "eggs", "milk", "soy milk"]


async def test_an_old_question_is_not_answered_by_a_late_yes(
        dispatcher: Dispatcher, uow: UnitOfWorkFactory) -> None:
    await dispatcher.handle_message(say("add milk, soy milk and bread"))
    await dispatcher.handle_message(say("remove the milk"))
    async with uow() as unit:
        chat = await unit.groups.chat(FAMILY_CHAT)
        assert chat is not None and chat.question is not None
        chat.question = {**chat.question, "asked_at": (
            utcnow() - QUESTION_TTL - timedelta(minutes=1)).isoformat()}
        await unit.commit()
    late = await dispatcher.handle_message(say("the soy one"))
    assert late.reply is None or late.reply.key != "removed"
    assert len(await open_items(uow)) == 3


async def test_undo_in_words_takes_back_the_senders_last_change(
        dispatcher: Dispatcher, uow: UnitOfWorkFactory) -> None:
    await dispatcher.handle_message(say("תוסיף חלב ולחם"))
    await dispatcher.handle_message(say("תמחק את הלחם"))
    undone = await dispatcher.handle_message(say("תחזיר את מה שמחקת"))
    assert undone.reply is not None and undone.reply.key == "undone"
    assert sorted(name for name, _q, _u in await open_items(uow)) == ["חלב", "לחם"]
    revoked = await dispatcher.handle_message(say("cancel the invite code"))
    assert revoked.reply is not None and revoked.reply.key != "undone"


async def test_a_command_for_another_bot_gets_no_reply_and_changes_nothing(
        dispatcher: Dispatcher, uow: UnitOfWorkFactory) -> None:
    await dispatcher.handle_message(say("add milk and bread"))
    for text in ("/clear@SomeOtherBot", "/list@SomeOtherBot", "/remove@other_bot milk"):
        outcome = await dispatcher.handle_message(say(text, user_id=YOSSI))
        assert outcome.reply is None and outcome.routed is None
    assert len(await open_items(uow)) == 2
    ours = await dispatcher.handle_message(say("/remove@ShopBot milk", user_id=YOSSI))
    assert ours.reply is not None and ours.reply.key == "removed"
    assert [name for name, _q, _u in await open_items(uow)] == ["bread"]
