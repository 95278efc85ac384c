"""Long polling applies a fetched batch in one transaction, a savepoint per update (issue 11).

The bot runs the real polling path against the Bot API emulator on loopback; the messages
are queued before it starts, so its first `getUpdates` fetches them as one batch. On a real
SQLite file and on the machine's PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from db.models import InboxUpdate, ProcessedUpdate, RouteLog
from handlers import HANDLERS
from router.types import Intent, Routed
from tests.support.botapi import BotApiEmulator
from tests.support.running import count, polled, settled, texts
from tests.support.running import open_item_names as open_items


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_fetched_batch_commits_once_and_answers_in_each_chats_order(
        kind: str, emulator: BotApiEmulator, tmp_path: Path) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    yossi = emulator.user(12, "Yossi", language_code="en")
    home = emulator.group(-1009000000101, "Home")
    work = emulator.group(-1009000000102, "Work")
    said = [(home, dana, "/add 2 milk"), (work, yossi, "/add bread"),
            (home, yossi, "good morning"), (home, dana, "/add 3 eggs"), (work, yossi, "ok"),
            (home, yossi, "what's on the list?"), (work, dana, "what's on the list?")]
    for chat, person, text in said:
        emulator.send_text(chat, person, text)
    statements: list[str] = []

    def noted(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", noted)
    try:
        async with polled(emulator, kind, tmp_path) as services:
            await settled(emulator, lambda: len(emulator.sent(home["id"])) >= 3
                          and len(emulator.sent(work["id"])) >= 2)
            assert await count(services, ProcessedUpdate) == len(said)
            assert await count(services, InboxUpdate) == 0
            assert await count(services, RouteLog) == 5  # the answered ones
    finally:
        event.remove(Engine, "before_cursor_execute", noted)
    # Each chat's replies in the order said; chit-chat unanswered.
    home_said = texts(emulator, home["id"])
    assert len(home_said) == 3 and "milk" in home_said[0] and "eggs" in home_said[1]
    assert "milk" in home_said[2] and "eggs" in home_said[2]
    work_said = texts(emulator, work["id"])
    assert len(work_said) == 2 and "bread" in work_said[0] and "bread" in work_said[1]
    # The whole batch's processed marks in one statement; a savepoint per update that
    # needed the database (it is opened at an update's first statement: on SQLite a chat
    # read earlier in the batch is not read again, so some chit-chat needs none).
    assert sum(s.startswith("INSERT INTO processed_updates") for s in statements) == 1
    assert 0 < sum(s.startswith("SAVEPOINT") for s in statements) <= len(said)

async def test_an_update_that_fails_rolls_back_alone(
        emulator: BotApiEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = HANDLERS[Intent.GROCERY_REQUEST]

    async def failing(routed: Routed, uow: Any) -> Any:
        reply = await original(routed, uow)  # the line is written, then the handler fails
        if "poison" in routed.incoming.text:
            raise RuntimeError("a handler's bug")
        return reply

    monkeypatch.setitem(HANDLERS, Intent.GROCERY_REQUEST, failing)
    dana = emulator.user(11, "Dana", language_code="en")
    home = emulator.group(-1009000000103, "Home")
    for text in ("/add milk", "/add poison", "/add bread", "good morning"):
        emulator.send_text(home, dana, text)
    async with polled(emulator, "sqlite", tmp_path) as services:
        await settled(emulator, lambda: len(emulator.sent(home["id"])) >= 3)
        # The failed update's line is gone with its savepoint; the others committed.
        assert await open_items(services) == ["milk", "bread"]
        assert await count(services, ProcessedUpdate) == 3
        assert await count(services, InboxUpdate) == 0
    said = texts(emulator, home["id"])
    assert len(said) == 3
    assert "milk" in said[0] and "bread" in said[2]  # the apology in between
    assert "milk" not in said[1] and "bread" not in said[1]


async def test_a_message_that_may_wait_is_applied_alone_and_its_chat_waits_behind_it(
        emulator: BotApiEmulator, tmp_path: Path) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    home = emulator.group(-1009000000104, "Home")
    work = emulator.group(-1009000000105, "Work")
    # `/kick` asks Telegram who administers the group: not in the batch, nor what follows
    # it in its chat; the other chat's messages are.
    said = [(home, "/add milk"), (home, "/kick Nobody"), (work, "/add tea"),
            (home, "/add bread"), (home, "what's on the list?"), (work, "/add rice")]
    for chat, text in said:
        emulator.send_text(chat, dana, text)
    async with polled(emulator, "sqlite", tmp_path) as services:
        await settled(emulator, lambda: len(emulator.sent(home["id"])) >= 4
                      and len(emulator.sent(work["id"])) >= 2)
        assert await count(services, ProcessedUpdate) == len(said)
        assert await count(services, InboxUpdate) == 0
    home_said = texts(emulator, home["id"])
    assert len(home_said) == 4
    assert "milk" in home_said[0] and "bread" in home_said[2]
    assert "milk" in home_said[3] and "bread" in home_said[3]
    assert "milk" not in home_said[1] and "bread" not in home_said[1]
    work_said = texts(emulator, work["id"])
    assert "tea" in work_said[0] and "rice" in work_said[1]
