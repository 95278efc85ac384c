"""Every command in Telegram's menu reaches a handler through a table and has a description."""

from __future__ import annotations

from bot.commands import COMMAND_INTENTS, COMMANDS
from handlers import COMMAND_HANDLERS, HANDLERS
from handlers.i18n import LANGUAGES, MESSAGES
from handlers.lists import command_entities


def test_every_menu_command_has_a_handler() -> None:
    unhandled = [name for name in COMMANDS if name not in COMMAND_HANDLERS
                 and name not in COMMAND_INTENTS and command_entities(name, "") is None]
    assert unhandled == []
    assert all(intent in HANDLERS for intent in COMMAND_INTENTS.values())


def test_every_menu_command_has_a_description_in_the_catalogs() -> None:
    assert LANGUAGES
    assert [name for name in COMMANDS if f"command.{name}" not in MESSAGES] == []
