"""A list that remembers, on a real SQLite file with an injected clock (no sleeping through
days of shopping): history questions in four languages, suggestions from habit, aisle order
learned from ticks, quick adds on an empty list."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.suggestions import send_due_suggestions
from db.store import UnitOfWorkFactory, set_clock
from handlers.buttons import AddSuggested, QuickAdd, decode
from handlers.common import resolve
from handlers.history import handle_history_command, handle_history_query
from handlers.i18n import render
from handlers.items import list_reply, tick_item, undo_action
from handlers.reply import Reply
from handlers.suggestions import add_suggested, handle_suggestions_command, quick_add, rhythm
from router.entities import extract
from router.history import history_entities
from router.normalize import detect_language
from router.types import Entities, Intent, Routed, Source
from tests.support.botapi import BotApiEmulator
from tests.support.direct import DANA, SAMIR, YOSSI, handle, message, open_items, routed
from tests.support.postgres import migrated_store
from tests.support.running import TOKEN, Bot, texts, until

# Noon in Jerusalem (the group's default time zone) on a Sunday.
START = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def at(self, days: float, hours: float = 0) -> None:
        self.now = START + timedelta(days=days, hours=hours)


@pytest.fixture
def clock() -> Iterator[Clock]:
    fake = Clock()
    set_clock(fake)
    yield fake
    set_clock(None)


async def add(uow: UnitOfWorkFactory, text: str, user_id: int = DANA) -> None:
    await handle(uow, routed(text, Intent.GROCERY_REQUEST, user_id=user_id))


async def tick(uow: UnitOfWorkFactory, *names: str, user_id: int = YOSSI) -> None:
    """Tick lines off the list in this order, as in the store."""
    for name in names:
        async with uow() as unit:
            ctx = await resolve(message("x", user_id=user_id), unit)
            row = next(r for r in await unit.items.open_items(ctx.group.id) if r.name == name)
            await tick_item(ctx, unit, "en", user_id, row.id)
            await unit.commit()


async def ask(uow: UnitOfWorkFactory, text: str, user_id: int = SAMIR) -> str:
    item, period = history_entities(text)
    msg = Routed(message(text, user_id=user_id), (Intent.OTHER,),
                 (Entities(item=item, period=period),), 0.99, True, Source.MODEL,
                 detect_language(text))
    async with uow() as unit:
        reply = await handle_history_query(msg, unit)
        await unit.commit()
    return render(reply)


async def command(uow: UnitOfWorkFactory, text: str, handler: object, lang: str = "en") -> Reply:
    async with uow() as unit:
        reply = await handler(message(text), unit, lang, None)  # type: ignore[operator]
        await unit.commit()
    return reply


# ---------------------------------------------------------------------------- history


@pytest.mark.parametrize(("text", "item", "period"), [
    ("who added the milk?", "milk", None),
    ("when did we last buy coffee?", "coffee", None),
    ("what did we buy last week?", None, "week"),
    ("מי הוסיף חלב?", "חלב", None),
    ("מתי קנינו קפה לאחרונה?", "קפה", None),
    ("מה קנינו אתמול?", None, "yesterday"),
    ("شو اشترينا الأسبوع الماضي؟", None, "week"),
    ("مين ضاف الحليب؟", "الحليب", None),
    ("кто добавил молоко?", "молоко", None),
    ("что мы купили в прошлом месяце?", None, "month"),
])
def test_a_history_questions_item_and_period(text: str, item: str | None,
                                             period: str | None) -> None:
    entities = extract(Intent.HISTORY_QUERY, text)
    assert (entities.item, entities.period) == (item, period)


async def test_who_added_and_when_it_was_bought_in_three_languages(
        uow: UnitOfWorkFactory, clock: Clock) -> None:
    await add(uow, "תוסיף חלב")
    clock.at(1, hours=3)  # Monday 15:00 in Jerusalem
    await tick(uow, "חלב")
    clock.at(4)
    arabic = await ask(uow, "مين ضاف الحليب؟")
    # The Arabic word finds the Hebrew line; the answer names the reader's own word.
    assert "Dana" in arabic and "حليب" in arabic and "قبل 4 أيام (01.11)" in arabic
    assert "Yossi" in arabic and "قبل 3 أيام (02.11)" in arabic
    english = await ask(uow, "when did we last buy milk?", user_id=DANA)
    assert "milk was last bought 3 days ago (02.11) (Yossi)" in english
    hebrew = await ask(uow, "מי הוסיף את החלב?", user_id=YOSSI)
    assert "Dana הוסיף/ה חלב לפני 4 ימים (01.11)" in hebrew
    russian = await ask(uow, "кто добавил молоко?")
    assert "Dana добавил(а) молоко 4 дня назад (01.11)" in russian


async def test_today_and_yesterday_are_said_with_the_groups_local_time(
        uow: UnitOfWorkFactory, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 1, 21, 30, tzinfo=UTC)  # 23:30 in Jerusalem
    await add(uow, "add coffee")
    assert "today at 23:30" in await ask(uow, "who added the coffee?")
    clock.now = datetime(2026, 11, 1, 22, 30, tzinfo=UTC)  # past midnight there
    assert "yesterday at 23:30" in await ask(uow, "who added the coffee?")
    assert "has not been bought since" in await ask(uow, "when did we last buy coffee?")


async def test_what_was_bought_last_week_leaves_out_older_and_undone_purchases(
        uow: UnitOfWorkFactory, clock: Clock) -> None:
    await add(uow, "add bread, rice")
    await tick(uow, "bread", "rice")
    clock.at(9)
    await add(uow, "add eggs, coffee, tomatoes")
    await tick(uow, "eggs", "coffee")
    async with uow() as unit:  # the coffee tick was a mistake: undone
        ctx = await resolve(message("x", user_id=YOSSI), unit)
        await undo_action(ctx, unit, "en", YOSSI, None)
        await unit.commit()
    clock.at(10)
    text = await ask(uow, "what did we buy last week?")
    assert text == "🧾 Bought in the last 7 days: eggs"
    arabic = await ask(uow, "شو اشترينا الأسبوع الماضي؟")
    assert "بيض" in arabic and "خبز" not in arabic
    month = await ask(uow, "מה קנינו בחודש האחרון?")
    assert "לחם" in month and "אורז" in month and "ביצים" in month
    assert await ask(uow, "what did we buy today?") == "Nothing was bought today."


async def test_history_command_works_without_the_model(uow: UnitOfWorkFactory,
                                                       clock: Clock) -> None:
    await add(uow, "add coffee")
    clock.at(0, hours=1)
    await tick(uow, "coffee")
    reply = await command(uow, "/history coffee", handle_history_command)
    assert "Dana added coffee today at 12:00" in render(reply)
    assert "coffee was last bought today at 13:00 (Yossi)" in render(reply)
    listing = await command(uow, "/history", handle_history_command)
    assert render(listing) == "🧾 Bought in the last 7 days: coffee"
    unknown = await command(uow, "/history kombucha", handle_history_command)
    assert render(unknown) == "I have no history of kombucha yet."


# ---------------------------------------------------------------------------- habits


def test_the_rhythm_rule() -> None:
    day = timedelta(days=1)
    assert rhythm([START, START + 4 * day, START + 8 * day]) == 4
    assert rhythm([START, START + 4 * day]) is None  # two purchases are no rhythm yet
    assert rhythm([START, START + 2 * day, START + 9 * day]) is None  # 2 and 7: not steady
    assert rhythm([START, START + 3 * day, START + 8 * day, START + 12 * day]) == 4
    # Two ticks the same afternoon are one purchase.
    assert rhythm([START, START + timedelta(hours=2), START + 4 * day, START + 8 * day]) == 4


async def buy_every(uow: UnitOfWorkFactory, clock: Clock, text: str, name: str, days: int,
                    times: int) -> None:
    for time in range(times):
        clock.at(time * days)
        await add(uow, text)
        await tick(uow, name)


async def look(uow: UnitOfWorkFactory, clock: Clock) -> list[tuple[int, Reply]]:
    sent: list[tuple[int, Reply]] = []

    async def send(chat_id: int, reply: Reply) -> None:
        sent.append((chat_id, reply))

    await send_due_suggestions(uow, send, now=clock.now)
    return sent


async def test_an_item_bought_every_four_days_is_suggested_once_when_due(
        uow: UnitOfWorkFactory, clock: Clock) -> None:
    await buy_every(uow, clock, "תוסיף חלב", "חלב", 4, 3)  # days 0, 4, 8
    clock.at(10)
    assert await look(uow, clock) == []  # not due yet: the next look is at day 12
    clock.at(12, hours=1)
    sent = await look(uow, clock)
    assert len(sent) == 1
    chat_id, reply = sent[0]
    assert render(reply) == "💡 חלב נקנה בערך כל 4 ימים — להוסיף?"
    clock.at(12, hours=2)
    async with uow() as unit:  # a restart or a second process: the cycle's one is made
        group = await unit.groups.group_of_chat(chat_id)
        assert group is not None
        group.suggest_due_at = None
        await unit.commit()
    assert await look(uow, clock) == []
    # The Add button puts it on the list.
    data = reply.buttons[0][0].data
    async with uow() as unit:
        ctx = await resolve(message("x", user_id=YOSSI), unit)
        pressed = decode(data)
        assert isinstance(pressed, AddSuggested)
        added = await add_suggested(ctx, message("x", user_id=YOSSI), unit, "he",
                                    pressed.suggestion_id)
        await unit.commit()
    assert added.edit and "חלב" in render(added)
    assert await open_items(uow) == [("חלב", None, None)]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_two_processes_looking_at_once_suggest_once(kind: str, tmp_path: Path,
                                                          clock: Clock) -> None:
    async with migrated_store(kind, tmp_path) as store:
        await buy_every(store, clock, "add milk", "milk", 4, 3)
        clock.at(12, hours=1)
        sent: list[tuple[int, Reply]] = []

        async def send(chat_id: int, reply: Reply) -> None:
            sent.append((chat_id, reply))

        await asyncio.gather(*(send_due_suggestions(store, send, now=clock.now)
                               for _process in range(4)))
        assert [render(reply) for _chat, reply in sent] == [
            "💡 milk is bought about every 4 days — add it?"]


async def test_no_suggestion_when_listed_switched_off_or_at_night(
        uow: UnitOfWorkFactory, clock: Clock) -> None:
    await buy_every(uow, clock, "add coffee", "coffee", 3, 4)  # days 0, 3, 6, 9
    clock.at(12, hours=1)
    await add(uow, "add coffee")  # already on the list: nothing to suggest
    assert await look(uow, clock) == []
    await tick(uow, "coffee")  # bought on day 12: the next cycle is due on day 15
    reply = await command(uow, "/suggestions off", handle_suggestions_command)
    assert reply.key == "suggestions_off"
    clock.at(15, hours=1)
    assert await look(uow, clock) == []
    reply = await command(uow, "/suggestions on", handle_suggestions_command)
    assert render(reply).startswith("💡 Suggestions from habit are on")
    clock.now = datetime(2026, 11, 16, 21, 0, tzinfo=UTC)  # 23:00 in Jerusalem
    assert await look(uow, clock) == []  # waits for the morning
    clock.now = datetime(2026, 11, 17, 7, 0, tzinfo=UTC)  # 09:00 there
    sent = await look(uow, clock)
    assert [render(r) for _c, r in sent] == [
        "💡 coffee is bought about every 3 days — add it?"]


async def test_an_irregular_item_is_never_suggested(uow: UnitOfWorkFactory,
                                                    clock: Clock) -> None:
    for day in (0, 2, 11, 12):
        clock.at(day)
        await add(uow, "add cake")
        await tick(uow, "cake")
    for day in range(13, 30):
        clock.at(day, hours=1)
        assert await look(uow, clock) == []


# ---------------------------------------------------------------------------- the list


async def test_sections_follow_the_order_the_group_ticks_in_the_store(
        uow: UnitOfWorkFactory, clock: Clock) -> None:
    async def shown() -> list[str]:
        async with uow() as unit:
            ctx = await resolve(message("x"), unit)
            reply = await list_reply(ctx, unit, "en")
        return [category for category, _entries in reply.params["sections"]]

    await add(uow, "add milk, bread, tomatoes")
    assert await shown() == ["produce", "dairy", "bakery"]  # the default order
    for trip in range(2):
        clock.at(trip * 3, hours=5)
        await tick(uow, "bread", "milk", "tomatoes")
        if trip == 0:
            await add(uow, "add milk, bread, tomatoes")
            # One trip is too little to learn from.
            assert await shown() == ["produce", "dairy", "bakery"]
    await add(uow, "add milk, bread, tomatoes")
    assert await shown() == ["bakery", "dairy", "produce"]


async def test_an_empty_list_offers_the_groups_most_frequent_items(
        uow: UnitOfWorkFactory, clock: Clock) -> None:
    for day in range(3):
        clock.at(day)
        await add(uow, "add milk, eggs")
        await tick(uow, "milk", "eggs")
    await add(uow, "add bread")
    await tick(uow, "bread")
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        reply = await list_reply(ctx, unit, "en")
    labels = [button.params["item"] for row in reply.buttons for button in row]
    assert reply.key == "list_empty" and labels[:2] == ["milk", "eggs"] and "bread" in labels
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        pressed = decode(reply.buttons[0][0].data)
        assert isinstance(pressed, QuickAdd)
        added = await quick_add(ctx, message("x"), unit, "en", pressed.item_id)
        await unit.commit()
    assert added.key == "added"
    assert await open_items(uow) == [("milk", None, None)]


# ---------------------------------------------------------------------------- over the emulator


async def test_the_suggestion_job_over_the_bot_api_runs_once_across_processes_and_restarts(
        tmp_path: Path, clock: Clock) -> None:
    """Milk bought every 4 days in a family group; on day 12 two bot processes on one
    database both tick: the group gets one suggestion, a restarted process adds none, and
    its Add button puts milk on the list."""
    db = tmp_path / "bot.db"
    with BotApiEmulator(token=TOKEN, bot_username="family_list_bot") as emulator:
        dana = emulator.user(11, "Dana", language_code="he")
        family = emulator.group(-1001234567892, "בית")
        first = await Bot(emulator, db).start()
        second = await Bot(emulator, db).start()
        try:
            emulator.add_bot_to_group(family, dana)
            for time, day in enumerate((0, 4, 8), 1):
                clock.at(day)
                emulator.send_text(family, dana, "/add חלב")
                emulator.send_text(family, dana, "/clear")
                await until(lambda time=time: sum("סומן" in t for t in texts(
                    emulator, family["id"])) == time)

            def suggested() -> list[dict[str, Any]]:
                return [m for m in emulator.sent(family["id"])
                        if "נקנה בערך כל 4 ימים" in m.get("text", "")]

            clock.at(12, hours=1)
            jobs = [bot.app.job_queue.get_jobs_by_name("suggestions")[0]
                    for bot in (first, second)]
            await asyncio.gather(*(job.run(bot.app) for job, bot in
                                   zip(jobs, (first, second), strict=True)))
            offer = (await until(suggested))[0]
            await first.stop()
            third = await Bot(emulator, db).start()
            try:
                clock.at(12, hours=2)
                await third.app.job_queue.get_jobs_by_name("suggestions")[0].run(third.app)
                await second.app.job_queue.get_jobs_by_name("suggestions")[0].run(second.app)
                assert len(suggested()) == 1
                add = offer["reply_markup"]["inline_keyboard"][0][0]
                emulator.press_button(family, dana, offer["message_id"], add["callback_data"])
                await until(lambda: "נוסף" in next(
                    m for m in emulator.sent(family["id"])
                    if m["message_id"] == offer["message_id"])["text"])
                emulator.send_text(family, dana, "/list")
                listing = await until(lambda: [t for t in texts(emulator, family["id"])
                                               if "🛒" in t])
                assert "• חלב" in listing[-1]
            finally:
                await third.stop()
        finally:
            await second.stop()
            if first.app.running:
                await first.stop()
