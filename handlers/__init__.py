"""One handler per intent; `HANDLERS` is the single table from intent to handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from db.store import UnitOfWork
from handlers.bugs import handle_bug_report
from handlers.chat import handle_help, handle_lang, handle_other, handle_start
from handlers.export import CommandHandler, handle_export, handle_forget
from handlers.group import (
    handle_group_info,
    handle_kick,
    handle_leave_group,
    handle_rename_group,
)
from handlers.history import handle_history_command, handle_history_query
from handlers.invites import (
    handle_create_invite,
    handle_get_invite_code,
    handle_join,
    handle_revoke_invite,
)
from handlers.items import (
    handle_clear_list,
    handle_grocery_request,
    handle_list_query,
    handle_partial_completion,
    handle_remove_item,
    handle_undo_command,
    handle_update_quantity,
)
from handlers.lists import handle_list_manage
from handlers.notifications import handle_notification_settings
from handlers.recipes import handle_recipe_search, handle_recipe_url
from handlers.reply import Reply
from handlers.suggestions import handle_suggestions_command
from router.types import Intent, Routed

__all__ = ["ADMIN_CHECKED", "COMMAND_HANDLERS", "HANDLERS", "Handler"]

Handler = Callable[[Routed, UnitOfWork], Awaitable[Reply]]

HANDLERS: dict[Intent, Handler] = {
    Intent.GROCERY_REQUEST: handle_grocery_request,
    Intent.RECIPE_URL: handle_recipe_url,
    Intent.LIST_QUERY: handle_list_query,
    Intent.CLEAR_LIST: handle_clear_list,
    Intent.REMOVE_ITEM: handle_remove_item,
    Intent.PARTIAL_COMPLETION: handle_partial_completion,
    Intent.GROUP_INFO: handle_group_info,
    Intent.GET_INVITE_CODE: handle_get_invite_code,
    Intent.CREATE_INVITE: handle_create_invite,
    Intent.RENAME_GROUP: handle_rename_group,
    Intent.LEAVE_GROUP: handle_leave_group,
    Intent.NOTIFICATION_SETTINGS: handle_notification_settings,
    Intent.REVOKE_INVITE: handle_revoke_invite,
    Intent.RECIPE_SEARCH: handle_recipe_search,
    Intent.UPDATE_QUANTITY: handle_update_quantity,
    Intent.BUG_REPORT: handle_bug_report,
    Intent.OTHER: handle_other,
    Intent.LIST_MANAGE: handle_list_manage,
    Intent.HISTORY_QUERY: handle_history_query,
}

# Commands that are no intent, each with its handler; for those in ADMIN_CHECKED, bot/ asks
# Telegram whether the sender administers the list's group chat before the transaction.
COMMAND_HANDLERS: dict[str, CommandHandler] = {
    "start": handle_start,
    "help": handle_help,
    "join": handle_join,
    "kick": handle_kick,
    "undo": handle_undo_command,
    "lang": handle_lang,
    "export": handle_export,
    "forget": handle_forget,
    "history": handle_history_command,
    "suggestions": handle_suggestions_command,
}
ADMIN_CHECKED = frozenset({"forget", "kick"})
