"""The Bot API emulator itself: plain HTTP checks and one real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.botapi import BotApiEmulator

TOKEN = "123:TEST"
FAMILY = -100200300


@pytest.fixture
def emu() -> Iterator[BotApiEmulator]:
    with BotApiEmulator(TOKEN, "shopbot_test_bot") as emulator:
        yield emulator


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def call(http: httpx.Client, emu: BotApiEmulator, method: str,
         **params: Any) -> tuple[int, dict[str, Any]]:
    response = http.post(f"{emu.base_url}{TOKEN}/{method}", json=params)
    return response.status_code, response.json()


def ok(http: httpx.Client, emu: BotApiEmulator, method: str, **params: Any) -> Any:
    status, body = call(http, emu, method, **params)
    assert status == 200 and body["ok"] is True, body
    return body["result"]


def test_get_me_fields(emu: BotApiEmulator, client: httpx.Client) -> None:
    me = ok(client, emu, "getMe")
    assert me["is_bot"] is True
    assert me["id"] == 123
    assert me["username"] == "shopbot_test_bot"
    assert me["first_name"]
    for key in ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries"):
        assert isinstance(me[key], bool)
    assert emu.base_url.startswith("http://127.0.0.1:") and emu.base_url.endswith("/bot")
    # Method names are case-insensitive; GET works too.
    assert client.get(f"{emu.base_url}{TOKEN}/getme").json()["result"]["id"] == 123


def test_wrong_token_and_unknown_method(emu: BotApiEmulator, client: httpx.Client) -> None:
    response = client.post(f"{emu.base_url}999:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    status, body = call(client, emu, "sendPigeon")
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_get_updates_long_poll_and_offset(emu: BotApiEmulator, client: httpx.Client) -> None:
    dana = emu.user(11, "Dana", "dana", "he")
    chat = emu.group(FAMILY, "Family")
    threading.Timer(0.3, emu.send_text, (chat, dana, "/start@shopbot_test_bot milk")).start()
    started = time.monotonic()
    updates = ok(client, emu, "getUpdates", timeout=5)
    assert 0.2 < time.monotonic() - started < 4
    assert len(updates) == 1
    message = updates[0]["message"]
    assert message["text"] == "/start@shopbot_test_bot milk"
    assert message["from"]["id"] == 11 and message["chat"]["type"] == "group"
    assert message["entities"][0] == {"type": "bot_command", "offset": 0, "length": 23}
    first = updates[0]["update_id"]

    second = emu.send_text(chat, dana, "eggs")
    assert emu.pending_updates() == 2
    # Without confirmation the same updates come again.
    assert [u["update_id"] for u in ok(client, emu, "getUpdates")] == [first, first + 1]
    # Confirming the first drops it.
    again = ok(client, emu, "getUpdates", offset=first + 1)
    assert [u["update_id"] for u in again] == [second["update_id"]]
    assert emu.pending_updates() == 1
    ok(client, emu, "getUpdates", offset=second["update_id"] + 1, timeout=0)
    assert emu.pending_updates() == 0
    # Nothing pending: a short long poll returns empty after its timeout.
    started = time.monotonic()
    assert ok(client, emu, "getUpdates", offset=second["update_id"] + 1, timeout=1) == []
    assert time.monotonic() - started >= 0.9


def test_form_encoded_and_multipart(emu: BotApiEmulator, client: httpx.Client) -> None:
    emu.group(FAMILY, "Family")
    url = f"{emu.base_url}{TOKEN}/sendMessage"
    form = client.post(url, data={"chat_id": str(FAMILY), "text": "123",
                                  "reply_markup": '{"inline_keyboard": [[{"text": "x", '
                                                  '"callback_data": "d"}]]}'}).json()
    assert form["ok"] and form["result"]["text"] == "123"
    assert form["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "d"
    multi = client.post(url, data={"chat_id": str(FAMILY), "text": "multi"},
                        files={"dummy": ("a.txt", b"abc")}).json()
    assert multi["ok"] and multi["result"]["text"] == "multi"
    assert emu.calls("sendMessage")[1][1]["dummy"] == {"filename": "a.txt", "size": 3}


def test_send_then_edit(emu: BotApiEmulator, client: httpx.Client) -> None:
    emu.group(FAMILY, "Family")
    keyboard = {"inline_keyboard": [[{"text": "Done", "callback_data": "done:1"}]]}
    first = ok(client, emu, "sendMessage", chat_id=FAMILY, text="<b>List</b>\nmilk",
               parse_mode="HTML", reply_markup=keyboard)
    second = ok(client, emu, "sendMessage", chat_id=FAMILY, text="two")
    assert (first["message_id"], second["message_id"]) == (1, 2)
    assert first["from"]["is_bot"] and first["from"]["id"] == 123
    assert first["chat"]["id"] == FAMILY and isinstance(first["date"], int)
    assert first["text"] == "List\nmilk"
    assert first["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    assert first["reply_markup"] == keyboard

    edited = ok(client, emu, "editMessageText", chat_id=FAMILY, message_id=1,
                text="<b>List</b>\nmilk, eggs", parse_mode="HTML", reply_markup=keyboard)
    assert edited["text"] == "List\nmilk, eggs" and "edit_date" in edited
    status, body = call(client, emu, "editMessageText", chat_id=FAMILY, message_id=1,
                        text="<b>List</b>\nmilk, eggs", parse_mode="HTML",
                        reply_markup=keyboard)
    assert status == 400
    assert body["description"].startswith("Bad Request: message is not modified: ")
    status, body = call(client, emu, "editMessageText", chat_id=FAMILY, message_id=99,
                        text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")

    state = emu.last_sent(FAMILY)
    assert state["message_id"] == 2
    assert emu.sent(FAMILY)[0]["edits"] == 1 and emu.sent(FAMILY)[0]["text"].endswith("eggs")
    assert emu.wait_for_sent(FAMILY, 2, timeout=1)[1]["text"] == "two"


def test_reply_and_button_press(emu: BotApiEmulator, client: httpx.Client) -> None:
    dana = emu.user(11, "Dana")
    chat = emu.group(FAMILY, "Family")
    asked = emu.send_text(chat, dana, "milk?")["message"]
    sent = ok(client, emu, "sendMessage", chat_id=FAMILY, text="Add milk?",
              reply_parameters={"message_id": asked["message_id"]},
              reply_markup={"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]})
    assert sent["message_id"] == asked["message_id"] + 1
    assert sent["reply_to_message"]["text"] == "milk?"
    update = emu.press_button(chat, dana, sent["message_id"], "y")
    query = update["callback_query"]
    assert query["message"]["reply_to_message"]["text"] == "milk?"
    assert ok(client, emu, "answerCallbackQuery", callback_query_id=query["id"], text="ok")
    status, body = call(client, emu, "answerCallbackQuery", callback_query_id=query["id"])
    assert status == 400 and "query is too old" in body["description"]
    assert emu.answered_callbacks()[0]["text"] == "ok"
    assert ok(client, emu, "setMessageReaction", chat_id=FAMILY,
              message_id=asked["message_id"], reaction=[{"type": "emoji", "emoji": "👍"}])
    assert emu.reactions(FAMILY) == {asked["message_id"]: [{"type": "emoji", "emoji": "👍"}]}
    status, body = call(client, emu, "sendMessage", chat_id=FAMILY, text="x",
                        reply_parameters={"message_id": 999})
    assert (status, body["description"]) == (400, "Bad Request: message to be replied not found")


def test_bad_html_and_text_limits(emu: BotApiEmulator, client: httpx.Client) -> None:
    emu.group(FAMILY, "Family")
    cases = {
        "<b>unclosed": "Can't find end tag corresponding to start tag \"b\"",
        "<b>x</i>": "Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\"",
        "1 < 2": "Unsupported start tag \"\" at byte offset 2",
        "<br/>x": "Unsupported start tag \"br/\" at byte offset 0",
        "<span>x</span>": "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0",
    }
    for text, reason in cases.items():
        status, body = call(client, emu, "sendMessage", chat_id=FAMILY, text=text,
                            parse_mode="HTML")
        assert status == 400, text
        assert body["description"] == f"Bad Request: can't parse entities: {reason}", text
    good = ok(client, emu, "sendMessage", chat_id=FAMILY, parse_mode="HTML",
              text='<a href="https://x.org/?a=1&amp;b=2">x</a> &lt;&#x27;&amp;&gt; '
                   '<span class="tg-spoiler">s</span> <pre><code class="language-py">1'
                   "</code></pre>")
    assert good["text"] == "x <'&> s 1"
    assert {"type": "text_link", "offset": 0, "length": 1,
            "url": "https://x.org/?a=1&b=2"} in good["entities"]
    assert {"type": "pre", "offset": 9, "length": 1, "language": "py"} in good["entities"]
    status, body = call(client, emu, "sendMessage", chat_id=FAMILY, text="")
    assert body["description"] == "Bad Request: message text is empty"
    status, body = call(client, emu, "sendMessage", chat_id=FAMILY, text="<b> </b>",
                        parse_mode="HTML")
    assert body["description"] == "Bad Request: message text is empty"
    status, body = call(client, emu, "sendMessage", chat_id=FAMILY, text="x" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    # The limit counts visible text, after entity parsing.
    ok(client, emu, "sendMessage", chat_id=FAMILY, text="<b>" + "x" * 4096 + "</b>",
       parse_mode="HTML")


def test_fail_next_429(emu: BotApiEmulator, client: httpx.Client) -> None:
    emu.group(FAMILY, "Family")
    emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3,
                  times=2)
    for _ in range(2):
        status, body = call(client, emu, "sendMessage", chat_id=FAMILY, text="hi")
        assert status == 429
        assert body == {"ok": False, "error_code": 429,
                        "description": "Too Many Requests: retry after 3",
                        "parameters": {"retry_after": 3}}
    assert ok(client, emu, "sendMessage", chat_id=FAMILY, text="hi")["text"] == "hi"
    assert len(emu.calls("sendMessage")) == 3
    assert len(emu.sent(FAMILY)) == 1


def test_commands_chats_and_membership(emu: BotApiEmulator, client: httpx.Client) -> None:
    commands = [{"command": "list", "description": "Show the list"}]
    assert ok(client, emu, "setMyCommands", commands=commands, language_code="he")
    assert ok(client, emu, "getMyCommands", language_code="he") == commands
    assert ok(client, emu, "getMyCommands") == []
    assert emu.commands() == {("default", "he"): commands}
    status, body = call(client, emu, "setMyCommands", commands=[{"command": "Bad!",
                                                                 "description": "x"}])
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")
    assert ok(client, emu, "deleteMyCommands", language_code="he")
    assert emu.commands() == {}

    status, body = call(client, emu, "sendMessage", chat_id=777, text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    samir = emu.user(33, "Samir")
    status, body = call(client, emu, "sendMessage", chat_id=33, text="x")
    assert status == 403
    emu.private_chat(samir)
    assert ok(client, emu, "sendChatAction", chat_id=33, action="typing")
    assert ok(client, emu, "getChat", chat_id=33)["type"] == "private"
    chat = emu.group(FAMILY, "Family", bot_member=False)
    emu.add_bot_to_group(chat, samir)
    update = ok(client, emu, "getUpdates")[-1]
    assert update["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert ok(client, emu, "leaveChat", chat_id=FAMILY)
    status, body = call(client, emu, "sendMessage", chat_id=FAMILY, text="x")
    assert (status, body["description"]) == (
        403, "Forbidden: bot is not a member of the group chat")
    info = ok(client, emu, "getWebhookInfo")
    assert info["url"] == "" and info["pending_update_count"] == emu.pending_updates() == 2
    assert ok(client, emu, "deleteWebhook", drop_pending_updates=True)
    assert emu.pending_updates() == 0


def test_wait_for_reports_what_was_sent(emu: BotApiEmulator, client: httpx.Client) -> None:
    emu.group(FAMILY, "Family")
    ok(client, emu, "sendMessage", chat_id=FAMILY, text="only this")
    with pytest.raises(AssertionError, match="only this"):
        emu.wait_for(lambda sent: len(sent) > 1, timeout=0.2)


def test_python_telegram_bot_client(emu: BotApiEmulator) -> None:
    from telegram import Bot, Message, Update

    dana = emu.user(11, "Dana", "dana", "en")
    chat = emu.private_chat(dana)

    async def scenario() -> None:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            me = await bot.get_me()
            assert me.username == "shopbot_test_bot" and me.is_bot
            sent = await bot.send_message(dana["id"], "<b>hi</b>", parse_mode="HTML")
            assert isinstance(sent, Message)
            assert sent.text == "hi" and sent.entities[0].type == "bold"
            emu.send_text(chat, dana, "@shopbot_test_bot milk please")
            updates = await bot.get_updates(timeout=2)
            assert len(updates) == 1 and isinstance(updates[0], Update)
            message = updates[0].message
            assert message is not None and message.text == "@shopbot_test_bot milk please"
            assert message.from_user is not None and message.from_user.id == 11
            assert message.entities[0].type == "mention"
            await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)

    asyncio.run(scenario())
    assert emu.pending_updates() == 0
    assert emu.last_sent(11)["text"] == "hi"
