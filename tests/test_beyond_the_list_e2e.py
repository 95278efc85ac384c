"""Named lists, history in words, a wrong keyboard layout and a Russian family, through the
real PTB application over HTTP against the Bot API emulator (the conversation tests play the
same features through `shopbot chat`)."""

from __future__ import annotations

from tests.support.botapi import BotApiEmulator
from tests.support.running import Bot, texts, until


def said(emulator: BotApiEmulator, chat_id: int, *parts: str) -> bool:
    return any(all(part in text for part in parts) for text in texts(emulator, chat_id))


async def test_a_named_list_a_history_question_and_a_wrong_layout(emulator: BotApiEmulator,
                                                                  bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="he")
    yossi = emulator.user(22, "Yossi", language_code="he")
    family = emulator.group(-1001234567891, "משפחת לוי")
    emulator.add_bot_to_group(family, dana)
    await until(lambda: len(emulator.sent(family["id"])) >= 1)

    emulator.send_text(family, dana, "תוסיף חלב")
    await until(lambda: said(emulator, family["id"], "נוסף", "חלב"))
    # A named list made by command, then filled in words without switching to it.
    emulator.send_text(family, dana, "/newlist פארם")
    await until(lambda: said(emulator, family["id"], "פארם"))
    emulator.send_text(family, yossi, "/uselist main")
    emulator.send_text(family, yossi, "תוסיף לרשימה של הפארם שמפו")
    await until(lambda: said(emulator, family["id"], "שמפו"))
    # History in words: who put the milk on the list.
    emulator.send_text(family, yossi, "מי שם חלב ברשימה?")
    await until(lambda: said(emulator, family["id"], "Dana", "חלב"))
    # Hebrew typed with the English layout: read as meant, and the reply shows it.
    emulator.send_text(family, yossi, "jkc' kjo")
    await until(lambda: said(emulator, family["id"], "⌨️", "חלב, לחם"))

    emulator.send_text(family, yossi, "/list")
    listing = await until(lambda: [m["text"] for m in emulator.sent(family["id"])
                                   if m.get("text", "").startswith("🛒 משפחת לוי")])
    # The main list has milk once and bread; the shampoo went to the pharmacy list.
    assert "לחם" in listing[-1] and "שמפו" not in listing[-1]
    lines = [line for line in listing[-1].splitlines() if line.startswith("• ")]
    assert sum("חלב" in line for line in lines) == 1, listing[-1]


async def test_a_russian_family_in_a_group_and_in_private(emulator: BotApiEmulator,
                                                          bot: Bot) -> None:
    lena = emulator.user(44, "Lena", language_code="ru")
    sasha = emulator.user(55, "Sasha", language_code="ru")
    family = emulator.group(-1001234567892, "Семья")
    emulator.add_bot_to_group(family, lena)
    await until(lambda: len(emulator.sent(family["id"])) >= 1)

    emulator.send_text(family, lena, "купи 2 литра молока и хлеб")
    await until(lambda: said(emulator, family["id"], "Добавлено"))
    emulator.send_text(family, sasha, "и ещё חלב")  # the Hebrew word is the same milk
    emulator.send_text(family, sasha, "что осталось купить?")
    listing = await until(lambda: [m["text"] for m in emulator.sent(family["id"])
                                   if m.get("text", "").startswith("🛒 Семья")])
    assert "хлеб" in listing[-1]
    lines = [line for line in listing[-1].splitlines() if line.startswith("• ")]
    assert sum("молок" in line or "חלב" in line for line in lines) == 1, listing[-1]

    private = emulator.private_chat(sasha)
    emulator.send_text(private, sasha, "/help")
    await until(lambda: said(emulator, private["id"], "/list"))
    assert any(ch in "".join(texts(emulator, private["id"])) for ch in "абвгдеёжзийклмнопрст")
