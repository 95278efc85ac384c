"""The command catalog: the commands of Telegram's menu, in every language with a catalog
(`command.<name>` in handlers/locales; English is the menu of every language without its own),
and the commands that reach an intent. The other commands' handlers are
handlers/__init__.py's COMMAND_HANDLERS; the list commands are handlers/lists.py's."""

from __future__ import annotations

import functools

from telegram import Bot, BotCommand, BotCommandScopeDefault

from bot.telegram_io import with_retries
from handlers.i18n import LANGUAGES, text
from router.types import Intent

__all__ = ["COMMANDS", "COMMAND_INTENTS", "menu", "set_menus"]

# Commands and the intent each one reaches (bot/dispatch.py routes them).
COMMAND_INTENTS: dict[str, Intent] = {
    "add": Intent.GROCERY_REQUEST,
    "list": Intent.LIST_QUERY,
    "remove": Intent.REMOVE_ITEM,
    "clear": Intent.CLEAR_LIST,
    "invite": Intent.CREATE_INVITE,
    "code": Intent.GET_INVITE_CODE,
    "revoke": Intent.REVOKE_INVITE,
    "rename": Intent.RENAME_GROUP,
    "leave": Intent.LEAVE_GROUP,
    "members": Intent.GROUP_INFO,
    "notify": Intent.NOTIFICATION_SETTINGS,
    "bug": Intent.BUG_REPORT,
    "recipe": Intent.RECIPE_SEARCH,
}
# Telegram's menu, in this order.
COMMANDS = [
    "add", "list", "remove", "clear", "undo", "invite", "code", "revoke", "join", "rename",
    "leave", "members", "kick", "export", "forget", "notify", "lang", "bug", "help",
    "history", "suggestions", "lists", "newlist", "uselist", "renamelist", "dellist",
]


def menu(language: str) -> list[BotCommand]:
    """The commands with their descriptions in one language."""
    return [BotCommand(name, text(f"command.{name}", language)) for name in COMMANDS]


async def set_menus(bot: Bot) -> None:
    """Register the menu of every language with Telegram."""
    for language in LANGUAGES:
        code = None if language == "en" else language
        await with_retries(functools.partial(
            bot.set_my_commands, menu(language), scope=BotCommandScopeDefault(),
            language_code=code))
