"""/export and /forget through the real Application against the Bot API emulator."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.support.botapi import BotApiEmulator
from tests.support.running import Bot, texts, until

FAMILY = -1001234567800


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


async def test_export_sends_the_list_to_paste_and_the_data_as_csv_and_json(
        emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="he")
    yossi = emulator.user(22, "Yossi", language_code="he")
    family = emulator.group(FAMILY, "משפחת כהן")
    emulator.add_bot_to_group(family, dana)
    emulator.send_text(family, dana, "תוסיף 2 ליטר חלב וביצים")
    emulator.send_text(family, yossi, "add bread")
    await until(lambda: sum("נוסף" in t or "Added" in t for t in texts(emulator, FAMILY)) >= 2)
    emulator.send_text(family, yossi, "/export")
    files = await until(lambda: len(emulator.documents(FAMILY)) >= 2
                        and emulator.documents(FAMILY))
    pasted = next(t for t in texts(emulator, FAMILY) if t.startswith("📋"))
    assert pasted.splitlines()[1:] == ["• 2 ליטר חלב", "• ביצים", "• bread"]

    table, document = files
    assert table["file_name"].endswith(".csv") and document["file_name"].endswith(".json")
    # A BOM first, so spreadsheet programs read the Hebrew as Hebrew.
    assert table["content"].startswith("\ufeff".encode())
    lines = list(csv.DictReader(io.StringIO(table["content"].decode("utf-8-sig"))))
    assert [(line["list"], line["name"], line["quantity"], line["unit"], line["added_by"])
            for line in lines] == [("", "חלב", "2", "ליטר", "Dana"),
                                   ("", "ביצים", "", "", "Dana"), ("", "bread", "", "", "Yossi")]
    data = json.loads(document["content"])
    assert data["group"]["title"] == "משפחת כהן"
    assert {member["name"] for member in data["members"]} == {"Dana", "Yossi"}
    assert [item["name"] for item in data["items"]] == ["חלב", "ביצים", "bread"]
    assert [entry["by"] for entry in data["history"]] == ["Dana", "Yossi"]


async def test_forget_deletes_the_group_only_when_a_telegram_admin_confirms(
        emulator: BotApiEmulator, bot: Bot, tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    dana = emulator.user(11, "Dana", language_code="en")
    yossi = emulator.user(22, "Yossi", language_code="en")
    family = emulator.group(FAMILY, "Home")
    emulator.add_bot_to_group(family, dana)  # Dana becomes the group's creator
    emulator.send_text(family, yossi, "add milk and bread")
    emulator.send_text(family, dana, "/invite")
    await until(lambda: len(texts(emulator, FAMILY)) >= 4)

    emulator.send_text(family, yossi, "/forget")
    await until(lambda: any("Only an admin" in t for t in texts(emulator, FAMILY)))
    assert ("getChatMember", {"chat_id": FAMILY, "user_id": 22}) in [
        (name, {k: params[k] for k in ("chat_id", "user_id")})
        for name, params in emulator.calls("getChatMember")]

    emulator.send_text(family, dana, "/forget")
    ask = await until(lambda: [m for m in emulator.sent(FAMILY)
                               if "cannot be undone" in m.get("text", "")])
    yes = ask[-1]["reply_markup"]["inline_keyboard"][0][0]
    # Yossi presses Dana's button: Telegram says he is no admin, so nothing is deleted.
    emulator.press_button(family, yossi, ask[-1]["message_id"], yes["callback_data"])
    await until(lambda: len(emulator.answered_callbacks()) >= 1)
    assert rows(db, "select count(*) from items") == [(2,)]
    # Made an admin since, his press counts: Telegram is asked at the time.
    emulator.set_status(family, yossi, "administrator")
    emulator.press_button(family, yossi, ask[-1]["message_id"], yes["callback_data"])
    await until(lambda: any("nothing is kept" in t for t in texts(emulator, FAMILY)))
    for table in ("groups", "items", "actions", "invites", "members", "chats",
                  "fallback_decisions"):
        assert rows(db, f"select count(*) from {table}") == [(0,)], table

    # Writing again starts a new, empty list.
    emulator.send_text(family, dana, "/list")
    await until(lambda: any("empty" in t.lower() for t in texts(emulator, FAMILY)[-1:]))


async def test_the_command_menu_offers_export_and_forget(emulator: BotApiEmulator,
                                                         bot: Bot) -> None:
    await until(lambda: len(emulator.calls("setMyCommands")) >= 3)
    for commands in emulator.commands().values():
        names = [command["command"] for command in commands]
        assert "export" in names and "forget" in names


async def test_forget_as_the_first_message_of_a_group_asks_telegram_about_that_chat(
        emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    family = emulator.group(FAMILY, "Home")
    emulator.set_status(family, dana, "administrator")
    emulator.send_text(family, dana, "/forget")
    await until(lambda: any("cannot be undone" in t for t in texts(emulator, FAMILY)))
