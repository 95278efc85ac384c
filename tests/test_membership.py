"""Who may use a list follows the Telegram group; long lists always show (issue 10).

End to end: the bot's own serving loop against the Bot API emulator on loopback, which
keeps each group's members and their statuses (getChatMember) and sends `chat_member`
updates only to a bot that is an administrator there and asked for them, as Telegram does.
"""

from __future__ import annotations

import asyncio

from tests.support.botapi import MAX_TEXT, BotApiEmulator
from tests.support.crash import pick_items
from tests.support.running import Bot, texts, until

FAMILY = -1004000000001


def said(emulator: BotApiEmulator, chat_id: int, words: str) -> list[str]:
    return [t for t in texts(emulator, chat_id) if words in t]


async def chat_gone(bot: Bot, chat_id: int) -> None:
    """Until the bot has written the group chat off."""
    assert bot.services is not None
    uow = bot.services.uow

    async def gone() -> None:
        while True:
            async with uow() as unit:
                chat = await unit.groups.chat(chat_id)
                if chat is not None and chat.gone_at is not None:
                    return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(gone(), 15)


def invite_codes(emulator: BotApiEmulator, chat_id: int) -> list[str]:
    return [t.split("Send them: /join ")[1].split()[0] for t in texts(emulator, chat_id)
            if "Send them: /join " in t]


async def test_someone_who_leaves_the_telegram_group_loses_its_list_everywhere(
        emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    yossi = emulator.user(22, "Yossi", language_code="en")
    yossi_chat = emulator.private_chat(yossi)
    family = emulator.group(FAMILY, "Family")
    emulator.add_bot_to_group(family, dana)
    emulator.send_text(family, yossi, "add milk")
    await until(lambda: said(emulator, FAMILY, "Added"))
    # Yossi brings his private chat to the family list too.
    emulator.send_text(family, dana, "/invite")
    code = await until(lambda: invite_codes(emulator, FAMILY))
    emulator.send_text(yossi_chat, yossi, f"/join {code[-1]}")
    await until(lambda: said(emulator, 22, "You joined"))

    emulator.leave_group(family, yossi)
    await until(lambda: said(emulator, FAMILY, "Yossi left"))
    # Told privately that the list is no longer his; his private chat is his own again.
    await until(lambda: said(emulator, 22, "no longer shared"))
    emulator.send_text(yossi_chat, yossi, "add cake")
    emulator.send_text(yossi_chat, yossi, "/list")
    await until(lambda: said(emulator, 22, "🛒"))
    assert "milk" not in said(emulator, 22, "🛒")[-1]
    emulator.send_text(family, dana, "/members")
    members = await until(lambda: said(emulator, FAMILY, "Members"))
    assert "Yossi" not in members[-1]
    emulator.send_text(family, dana, "/list")
    listing = await until(lambda: said(emulator, FAMILY, "🛒"))
    assert "milk" in listing[-1] and "cake" not in listing[-1]


async def test_an_admin_bot_hears_a_join_once_from_both_reports(
        emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    samir = emulator.user(33, "Samir", language_code="en")
    family = emulator.group(FAMILY, "Family")
    emulator.add_bot_to_group(family, dana, admin=True)
    emulator.send_text(family, dana, "add bread")
    await until(lambda: said(emulator, FAMILY, "Added"))
    # Telegram reports the join twice to an admin bot: chat_member and a service message.
    emulator.join_group(family, samir)
    assert [name for name, _ in emulator.calls("getUpdates")]
    await until(lambda: said(emulator, FAMILY, "Samir joined"))
    emulator.send_text(family, dana, "/members")
    members = await until(lambda: said(emulator, FAMILY, "Members"))
    assert "Samir" in members[-1]
    emulator.leave_group(family, samir, removed_by=dana)
    await until(lambda: said(emulator, FAMILY, "Samir left"))
    emulator.send_text(family, dana, "/list")
    await until(lambda: said(emulator, FAMILY, "🛒"))
    assert len(said(emulator, FAMILY, "Samir joined")) == 1
    assert len(said(emulator, FAMILY, "Samir left")) == 1
    allowed = emulator.calls("getUpdates")[-1][1]["allowed_updates"]
    assert "chat_member" in allowed


async def test_only_a_telegram_admin_removes_a_member_who_joined_by_code(
        emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    yossi = emulator.user(22, "Yossi", language_code="en")
    samir = emulator.user(33, "Samir", language_code="en")
    samir_chat = emulator.private_chat(samir)
    family = emulator.group(FAMILY, "Family")
    emulator.add_bot_to_group(family, dana)  # Dana made the group: its creator
    emulator.send_text(family, yossi, "/invite")
    code = await until(lambda: invite_codes(emulator, FAMILY))
    emulator.send_text(samir_chat, samir, f"/join {code[-1]}")
    await until(lambda: said(emulator, FAMILY, "Samir joined"))

    emulator.send_text(family, yossi, "/kick Samir")
    await until(lambda: said(emulator, FAMILY, "Only an admin"))
    assert emulator.calls("getChatMember")[-1][1]["user_id"] == 22
    emulator.send_text(family, dana, "/members")
    members = await until(lambda: [m for m in emulator.sent(FAMILY)
                                   if "Members" in m.get("text", "")])
    remove = members[-1]["reply_markup"]["inline_keyboard"][0][0]
    assert "Samir" in remove["text"]
    emulator.press_button(family, dana, members[-1]["message_id"], remove["callback_data"])
    await until(lambda: said(emulator, FAMILY, "Samir was removed"))
    await until(lambda: said(emulator, 33, "removed you"))
    emulator.send_text(samir_chat, samir, "add olives")
    await until(lambda: said(emulator, 33, "Added"))
    emulator.send_text(family, dana, "/list")
    listing = await until(lambda: said(emulator, FAMILY, "🛒") + said(emulator, FAMILY,
                                                                      "is empty"))
    assert "olives" not in listing[-1]
    # The old code does not let a removed member back in.
    emulator.send_text(samir_chat, samir, f"/join {code[-1]}")
    await until(lambda: said(emulator, 33, "You were removed"))


async def test_a_removed_bot_stops_writing_and_a_supergroup_keeps_its_list(
        emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    samir = emulator.user(33, "Samir", language_code="en")
    samir_chat = emulator.private_chat(samir)
    family = emulator.group(-4001, "Family")  # a basic group, before it is upgraded
    emulator.add_bot_to_group(family, dana)
    emulator.send_text(family, dana, "add olives and feta")
    await until(lambda: said(emulator, -4001, "Added"))

    supergroup = emulator.migrate_to_supergroup(family, -1004000000099, dana)
    emulator.send_text(supergroup, dana, "/list")
    listing = await until(lambda: said(emulator, supergroup["id"], "🛒"))
    assert "olives" in listing[-1] and "feta" in listing[-1]

    emulator.send_text(supergroup, dana, "/invite")
    code = await until(lambda: invite_codes(emulator, supergroup["id"]))
    emulator.remove_bot(supergroup, dana)
    # The removal and the join are in different chats, so nothing orders them: wait.
    await chat_gone(bot, supergroup["id"])
    emulator.send_text(samir_chat, samir, f"/join {code[-1]}")
    await until(lambda: said(emulator, 33, "You joined"))
    emulator.send_text(samir_chat, samir, "/list")
    await until(lambda: said(emulator, 33, "olives"))
    # Nothing went to the group the bot was removed from: not the join line, not a try.
    failed = [params for name, params in emulator.calls("sendMessage")
              if params.get("chat_id") in (supergroup["id"], -4001)]
    assert not any("joined" in str(params.get("text")) for params in failed)


async def test_a_group_that_refuses_the_bot_is_not_written_to_again(
        emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    samir = emulator.user(33, "Samir", language_code="en")
    eli = emulator.user(44, "Eli", language_code="en")
    family = emulator.group(FAMILY, "Family")
    emulator.send_text(family, dana, "/invite")
    code = await until(lambda: invite_codes(emulator, FAMILY))
    emulator.remove_bot(family, dana, tell_bot=False)
    emulator.send_text(emulator.private_chat(samir), samir, f"/join {code[-1]}")
    await until(lambda: said(emulator, 33, "You joined"))
    await chat_gone(bot, FAMILY)
    emulator.send_text(emulator.private_chat(eli), eli, f"/join {code[-1]}")
    await until(lambda: said(emulator, 44, "You joined"))
    tries = [params for name, params in emulator.calls("sendMessage")
             if params.get("chat_id") == FAMILY and "joined" in str(params.get("text"))]
    # Samir's join line was refused (403); Eli's was not even tried.
    assert len(tries) == 1 and "Samir" in str(tries[0]["text"])


async def test_a_300_item_list_shows_whole_across_several_messages(
        emulator: BotApiEmulator, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="en")
    chat = emulator.private_chat(dana)
    items = [f"12 {name}" for name in pick_items(300)]
    for start in range(0, 300, 50):
        emulator.send_text(chat, dana, "add " + ", ".join(items[start:start + 50]))
    await until(lambda: len(said(emulator, 11, "Added")) == 6, timeout=60)
    emulator.send_text(chat, dana, "/list")
    # The parts go out one after another; the last carries the tick buttons.
    await until(lambda: "reply_markup" in emulator.sent(11)[-1]
                and "Added" not in emulator.sent(11)[-1]["text"], timeout=30)
    parts = [m for m in emulator.sent(11) if "Added" not in m.get("text", "")]
    assert sum(len(m["text"]) for m in parts) > MAX_TEXT
    assert len(parts) >= 2 and all(len(m["text"]) <= MAX_TEXT for m in parts)
    shown = [line[2:] for m in parts for line in m["text"].splitlines()
             if line.startswith("• ")]
    assert sorted(shown) == sorted(items)
    assert all("reply_markup" not in m for m in parts[:-1])
