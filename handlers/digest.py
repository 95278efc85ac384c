"""Digests: one private summary per member of what the others changed on the list.

Each change is told in its author's words, with the member's own word beside a line written
in another language (the Arabic word, then the Hebrew one, for a Hebrew reader)."""

from __future__ import annotations

from typing import Any

from db.lists import ListRepo
from db.models import Action
from db.store import UnitOfWork, as_utc
from handlers.items import entry_label
from handlers.reply import Reply

__all__ = ["collect_digests"]


async def collect_digests(uow: UnitOfWork, group_id: int,
                          default_lang: str = "he") -> list[tuple[int, Reply]]:
    """The digest each member with notifications on should get now, as (chat id, reply).

    Marks those changes as notified, so a digest is never sent twice; the author of a
    change is not told about their own change.
    """
    group = await uow.groups.get(group_id)
    if group is None:
        return []
    out: list[tuple[int, Reply]] = []
    last_id = await uow.items.last_action_id(group_id)
    for member, user in await uow.groups.members(group_id):
        if member.notified_through >= last_id:
            continue
        actions = await uow.items.actions_after(group_id, member.notified_through)
        member.notified_through = last_id
        if not member.notify or user is None or user.private_chat_id is None:
            continue
        lang = user.language or user.last_language or group.language or default_lang
        entries = []
        for action in actions:
            if action.user_id == member.user_id or not action.summary:
                continue
            if as_utc(action.created_at) < as_utc(member.joined_at):
                continue  # a newcomer's first digest is not the list's whole history
            author = await uow.groups.user(action.user_id)
            entries.append({"kind": action.kind, "items": _items(action, lang),
                            "user": author.display_name if author else str(action.user_id),
                            "list": await _list_name(uow, action)})
        if entries:
            out.append((user.private_chat_id,
                        Reply("digest", lang, {"title": group.title, "entries": entries[-30:]})))
    await uow.groups.set_digest_due(group_id, None)
    return out


async def _list_name(uow: UnitOfWork, action: Action) -> str | None:
    """The named list a change to items was made on (None: the default list, or a change
    to a list itself, which names it already)."""
    if not action.list_id or action.kind.startswith("list_"):
        return None
    row = await ListRepo(uow.session).get(action.list_id)
    return row.name if row is not None else None


def _items(action: Action, lang: str) -> list[Any]:
    """The lines a change touched, for a reader of `lang` (its summary when it recorded no
    lines of its own, as undos and older changes do)."""
    lines = [entry_label(entry, lang) for entry in action.undo
             if isinstance(entry, dict) and entry.get("label")]
    return lines or list(action.summary)
