"""The real PTB Application over real HTTP against a Bot API emulator on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import Update

from tests.support.botapi import BotApiEmulator
from tests.support.running import Bot, texts, until


async def test_a_family_group_keeps_one_shared_list(emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="he")
    yossi = emulator.user(22, "Yossi", language_code="he")
    samir = emulator.user(33, "Samir", language_code="ar")
    family = emulator.group(-1001234567890, "משפחת כהן")
    emulator.add_bot_to_group(family, dana)
    await until(lambda: len(emulator.sent(family["id"])) >= 1)
    # The command menu is registered once per language: English as the default menu, the
    # others for users whose Telegram speaks them.
    menus = {params.get("language_code"): params["commands"]
             for _, params in emulator.calls("setMyCommands")}
    assert set(menus) == {None, "he", "ar", "ru"}
    assert any("רשימה" in str(command) for command in menus["he"])
    assert any("список" in str(command).lower() for command in menus["ru"])

    emulator.send_text(family, dana, "תוסיף חלב וביצים")
    await until(lambda: any("נוסף" in t for t in texts(emulator, family["id"])))
    emulator.send_text(family, yossi, "בוקר טוב לכולם")
    emulator.send_text(family, samir, "بدنا خبز")
    await until(lambda: any("تمت الإضافة" in t for t in texts(emulator, family["id"])))
    emulator.send_text(family, yossi, "מה חסר לנו?")
    listing = await until(lambda: [m for m in emulator.sent(family["id"])
                                   if "🛒" in m.get("text", "")])
    body = listing[-1]["text"]
    assert "חלב" in body and "ביצים" in body and "خبز" in body
    # Nobody asked the bot anything with "good morning": it stayed quiet.
    assert not any("בוקר" in t for t in texts(emulator, family["id"]))

    buttons = listing[-1]["reply_markup"]["inline_keyboard"]
    milk = next(b for row in buttons for b in row if "חלב" in b["text"])
    emulator.press_button(family, samir, listing[-1]["message_id"], milk["callback_data"])
    await until(lambda: "• חלב" not in next(
        m for m in emulator.sent(family["id"])
        if m["message_id"] == listing[-1]["message_id"])["text"])
    assert emulator.answered_callbacks()


async def test_a_restart_mid_conversation_loses_and_doubles_nothing(
        emulator: BotApiEmulator, tmp_path: Path) -> None:
    db = tmp_path / "restart.db"
    dana = emulator.user(11, "Dana")
    family = emulator.group(-1001234567891, "Home")
    first = await Bot(emulator, db).start()
    emulator.send_text(family, dana, "need 2 milk")
    await until(lambda: len(texts(emulator, family["id"])) >= 1)
    await first.stop()
    emulator.send_text(family, dana, "add bread")  # arrives while the bot is down
    second = await Bot(emulator, db).start()
    try:
        await until(lambda: len(texts(emulator, family["id"])) >= 2)
        # Telegram redelivers an update after a crash: the second copy changes nothing.
        update = emulator.send_text(family, dana, "add 3 eggs")
        await until(lambda: len(texts(emulator, family["id"])) >= 3)
        await second.app.process_update(Update.de_json(update, second.app.bot))
        emulator.send_text(family, dana, "/list")
        listing = await until(lambda: [t for t in texts(emulator, family["id"]) if "🛒" in t])
        assert "2 milk" in listing[-1] and "bread" in listing[-1]
        assert "3 eggs" in listing[-1] and "6 eggs" not in listing[-1]
    finally:
        await second.stop()


async def test_an_edited_message_is_not_executed_again(emulator: BotApiEmulator,
                                                       bot: Bot) -> None:
    dana = emulator.user(11, "Dana")
    chat = emulator.private_chat(dana)
    update = emulator.send_text(chat, dana, "add 2 milk")
    await until(lambda: len(texts(emulator, chat["id"])) >= 1)
    emulator.edit_text(chat, dana, update["message"]["message_id"], "add 5 milk")
    emulator.send_text(chat, dana, "/list")
    listing = await until(lambda: [t for t in texts(emulator, chat["id"]) if "🛒" in t])
    assert "2 milk" in listing[-1] and "5" not in listing[-1].split("milk")[0][-3:]


# Slow (CI): a 1 s wait that test_limits.py's quick 429 test also waits, with more checks.
@pytest.mark.slow
async def test_a_429_from_telegram_is_waited_out(emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana")
    chat = emulator.private_chat(dana)
    emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    emulator.send_text(chat, dana, "add bread")
    await until(lambda: any("Added" in t for t in texts(emulator, chat["id"])), timeout=20)


async def test_members_with_a_private_chat_get_a_digest(emulator: BotApiEmulator,
                                                        bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    yossi = emulator.user(22, "Yossi", language_code="en")
    yossi_chat = emulator.private_chat(yossi)
    family = emulator.group(-1001234567892, "Family")
    emulator.send_text(yossi_chat, yossi, "/start")
    emulator.send_text(family, yossi, "/members")
    await until(lambda: len(texts(emulator, family["id"])) >= 1)
    emulator.send_text(family, dana, "add tomatoes and cucumbers")
    digest = await until(lambda: [t for t in texts(emulator, yossi_chat["id"])
                                  if "Updates in" in t])
    assert "Dana" in digest[-1] and "tomatoes" in digest[-1]


async def test_bug_reports_reach_the_admin_chat(emulator: BotApiEmulator,
                                                tmp_path: Path) -> None:
    admin = emulator.user(99, "Admin")
    admin_chat = emulator.private_chat(admin)
    dana = emulator.user(11, "Dana")
    chat = emulator.private_chat(dana)
    running = await Bot(emulator, tmp_path / "bugs.db", admin=admin_chat["id"]).start()
    try:
        emulator.send_text(chat, dana, "/bug the list shows <nothing>")
        note = await until(lambda: [t for t in texts(emulator, admin_chat["id"]) if "🐞" in t])
        assert "<nothing>" in note[-1]
    finally:
        await running.stop()


async def test_recipe_link_and_dish_name_end_to_end_with_buttons(
        emulator: BotApiEmulator, tmp_path: Path) -> None:
    from tests.support.recipe_server import RecipeServer, json_ld_page

    running = Bot(emulator, tmp_path / "recipes.db")
    # The page server is on loopback, so this bot may fetch private addresses.
    running.settings = running.settings.model_copy(update={"fetch_allow_private": True})
    await running.start()
    dana = emulator.user(11, "Dana", language_code="en")
    chat = emulator.private_chat(dana)
    try:
        with RecipeServer("127.0.0.2") as pages:
            pages.html("/pancakes", json_ld_page("Fluffy pancakes",
                                                 ["2 eggs", "300 ml milk", "200 g flour"]))
            emulator.send_text(chat, dana, f"make a list from this {pages.url('/pancakes')}")
            offer = await until(lambda: [m for m in emulator.sent(chat["id"])
                                         if "Fluffy pancakes" in m.get("text", "")])
        add_all = offer[-1]["reply_markup"]["inline_keyboard"][0][0]
        emulator.press_button(chat, dana, offer[-1]["message_id"], add_all["callback_data"])
        await until(lambda: any("Added" in t and "flour" in t
                                for t in texts(emulator, chat["id"])))

        emulator.send_text(chat, dana, "what do I need for lasagna?")
        dish = await until(lambda: [m for m in emulator.sent(chat["id"])
                                    if "🍳" in m.get("text", "") and "asagna" in m["text"]])
        first_item = dish[-1]["reply_markup"]["inline_keyboard"][1][0]
        emulator.press_button(chat, dana, dish[-1]["message_id"], first_item["callback_data"])
        emulator.send_text(chat, dana, "/list")
        listing = await until(lambda: [t for t in texts(emulator, chat["id"]) if "🛒" in t])
        assert "eggs" in listing[-1] and "flour" in listing[-1]
        assert first_item["text"].lstrip("➕ ").split()[-1] in listing[-1]
    finally:
        await running.stop()


async def test_a_two_request_message_runs_both_handlers_in_order(
        emulator: BotApiEmulator, tmp_path: Path) -> None:
    model = Path(__file__).resolve().parents[1] / "models" / "intent-multi"
    running = Bot(emulator, tmp_path / "multi.db")
    running.settings = running.settings.model_copy(update={"model_dir": model})
    await running.start()
    dana = emulator.user(11, "Dana", language_code="en")
    chat = emulator.private_chat(dana)
    try:
        emulator.send_text(chat, dana, "add bread and show me the list")
        answer = await until(lambda: texts(emulator, chat["id"]))
        # One reply: the add, then the list that already has the bread on it.
        assert answer[-1].index("Added: bread") < answer[-1].index("🛒")
        assert "• bread" in answer[-1]
    finally:
        await running.stop()
