"""Share, export, forget: a group's data leaves with `/export` and is deleted with `/forget`.

`/export` answers with the open list as plain text, one `•` line per item, ready to paste in
another chat, and attaches the group's data: a CSV of every line the list ever had and a JSON
document with the group, its members, its lines, their history and its invite codes' dates
(never the codes). `/forget` asks first; only an administrator of the list's Telegram group
chat (asked of Telegram at the time, by `bot/`) or, for a list without one, the member who
created it may confirm, and the confirming press is checked again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from itertools import groupby
from typing import Any

from db.groupdata import GroupData, erase_group, read_group
from db.models import GroupKind, ItemStatus, MemberRole
from db.store import UnitOfWork, as_utc, utcnow
from handlers.buttons import Cancel, ConfirmForget, encode
from handlers.common import Context, resolve
from handlers.items import describe
from handlers.reply import Button, Effect, EffectKind, Reply
from router.lexicon import CATEGORIES
from router.types import Incoming

__all__ = ["CSV_COLUMNS", "CommandHandler", "export_files", "forget_group",
           "handle_export", "handle_forget"]

# A command's handler: the message, the transaction, the reply's language, and whether the
# sender administers the list's group chat (None: not asked, or Telegram could not say).
CommandHandler = Callable[[Incoming, UnitOfWork, str, bool | None], Awaitable[Reply]]
CSV_COLUMNS = ("list", "name", "quantity", "unit", "note", "category", "status", "added_by",
               "created_at", "updated_at")


def _time(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat(timespec="seconds") if moment is not None else None


def _amount(quantity: float | None) -> float | int | None:
    if quantity is not None and float(quantity).is_integer():
        return int(quantity)
    return quantity


def export_files(data: GroupData) -> tuple[bytes, bytes]:
    """The group's lines as CSV (UTF-8 with a BOM, so spreadsheet programs read Hebrew and
    Arabic right) and everything as JSON."""
    def who(user_id: int) -> str:
        return data.names.get(user_id, str(user_id))

    # A line on the group's default list (list_id 0) has no list name.
    named = {shopping.id: shopping.name for shopping in data.lists}
    lines = [{"list": named.get(item.list_id, ""), "name": item.name,
              "quantity": _amount(item.quantity), "unit": item.unit,
              "note": item.note, "category": item.category, "status": item.status,
              "added_by": who(item.added_by), "created_at": _time(item.created_at),
              "updated_at": _time(item.updated_at)} for item in data.items]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({key: "" if value is None else value for key, value in line.items()}
                     for line in lines)
    group = data.group
    document: dict[str, Any] = {
        "group": {"title": group.title, "kind": group.kind, "timezone": group.timezone,
                  "created_at": _time(group.created_at)},
        "exported_at": _time(utcnow()),
        "members": [{"name": user.display_name if user else str(member.user_id),
                     "user_id": member.user_id, "role": member.role,
                     "active": member.active, "joined_at": _time(member.joined_at),
                     "left_at": _time(member.left_at)} for member, user in data.members],
        "lists": [{"name": shopping.name, "created_at": _time(shopping.created_at),
                   "deleted_at": _time(shopping.deleted_at)} for shopping in data.lists],
        "items": lines,
        "history": [{"kind": action.kind, "by": who(action.user_id),
                     "at": _time(action.created_at), "undone_at": _time(action.undone_at),
                     "summary": action.summary} for action in data.actions],
        "invites": [{"created_at": _time(invite.created_at),
                     "expires_at": _time(invite.expires_at),
                     "revoked_at": _time(invite.revoked_at)} for invite in data.invites],
    }
    return (("\ufeff" + table.getvalue()).encode("utf-8"),
            json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"))


def _paste_text(data: GroupData) -> str:
    """The open lines, by shelf, one `•` line each: the default list's first, then each named
    list's under its name."""
    order = {category: index for index, category in enumerate(CATEGORIES)}
    named = {shopping.id: shopping.name for shopping in data.lists
             if shopping.deleted_at is None}
    rows = sorted((item for item in data.items if item.status == ItemStatus.OPEN
                   and (item.list_id == 0 or item.list_id in named)),
                  key=lambda item: (item.list_id, order.get(item.category, len(order)),
                                    item.id))
    out: list[str] = []
    for list_id, items in groupby(rows, key=lambda item: item.list_id):
        if list_id:
            out.extend([*([""] if out else []), f"{named[list_id]}:"])
        out.extend("• " + describe(item.name, item.quantity, item.unit, item.note)
                   for item in items)
    return "\n".join(out)


async def handle_export(incoming: Incoming, uow: UnitOfWork, lang: str,
                        admin: bool | None = None) -> Reply:
    """`/export`: the list as text to paste, and the group's data as CSV and JSON files."""
    ctx = await resolve(incoming, uow)
    data = await read_group(uow.session, ctx.group.id)
    assert data is not None  # resolve just made or locked it
    table, document = export_files(data)
    day = utcnow().date().isoformat()
    files = tuple(Effect(EffectKind.DOCUMENT, {
        "chat_id": incoming.chat_id, "filename": f"shopping-list-{day}.{ext}",
        "content": content, "mime": mime})
        for ext, content, mime in (("csv", table, "text/csv"),
                                   ("json", document, "application/json")))
    text = _paste_text(data)
    if not text:
        return Reply("export_empty", lang, {"title": ctx.group.title}, effects=files)
    return Reply("export", lang, {"title": ctx.group.title, "lines": text}, effects=files)


async def _allowed(ctx: Context, uow: UnitOfWork, admin: bool | None) -> bool | None:
    """Whether the sender may delete the group's data; None when Telegram could not say."""
    if await uow.groups.group_chats(ctx.group.id):
        return admin
    return ctx.group.kind == GroupKind.PERSONAL and ctx.member.role == MemberRole.OWNER


async def handle_forget(incoming: Incoming, uow: UnitOfWork, lang: str,
                        admin: bool | None) -> Reply:
    """`/forget`: who may, is asked to confirm with a button; anyone else is told who can."""
    ctx = await resolve(incoming, uow)
    allowed = await _allowed(ctx, uow, admin)
    if allowed is None:
        return Reply("forget_admin_unknown", lang)
    if not allowed:
        return Reply("forget_not_allowed", lang, {"title": ctx.group.title})
    count = await uow.items.count_open(ctx.group.id)
    return Reply("forget_confirm", lang, {"title": ctx.group.title, "count": count},
                 buttons=((Button("btn_forget_yes", encode(ConfirmForget(ctx.group.id))),),
                          (Button("btn_cancel", encode(Cancel())),)))


async def forget_group(incoming: Incoming, uow: UnitOfWork, lang: str, admin: bool | None,
                       group_id: int) -> Reply:
    """The confirming press: checked again (anyone in the chat can press it), then every row
    of the group is deleted. A press on a question about another group is stale."""
    ctx = await resolve(incoming, uow)
    if ctx.group.id != group_id:
        return Reply(None, lang, toast="stale")
    allowed = await _allowed(ctx, uow, admin)
    if not allowed:
        key = "forget_admin_unknown" if allowed is None else "forget_not_allowed"
        return Reply(None, lang, {"title": ctx.group.title}, toast=key)
    title = ctx.group.title
    await erase_group(uow.session, group_id)
    return Reply("forgotten", lang, {"title": title}, edit=True)
