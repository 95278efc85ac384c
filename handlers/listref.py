"""Which list a message acts on: the member's current one, or the one it names.

The default list (`list_id` 0) is the one every group always had. Each member has a current
list in each group (`members.list_id`), switched for themselves; a message that names a list
("add shampoo to the pharmacy list") acts on that one without switching. A name is matched as
items are: normalized, across languages by concept (router/lists.py), then loosely; several
fits are asked about (handlers/lists.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from difflib import SequenceMatcher
from typing import Any

from db.lists import ListRepo
from db.models import QuestionKind, ShoppingList
from db.store import UnitOfWork
from handlers.buttons import AnswerWhichList, encode
from handlers.common import Context
from handlers.i18n import plain
from handlers.reply import Button, Reply, Role
from router.lists import DEFAULT, list_concept, list_key
from router.types import Routed

__all__ = ["ask_list", "list_id_of", "list_title", "match_lists", "named_list", "on_list",
           "other_lists", "shown_list", "take_back_list"]

# Two names this alike are one list mistyped ("pharmcy"), or one word in two cases
# (a Russian noun in two cases).
LOOSE_RATIO = 0.75


def list_id_of(ctx: Context) -> int:
    """The list a resolved context acts on (0: the default list)."""
    return ctx.list_id or 0


async def on_list(ctx: Context, uow: UnitOfWork, list_id: int | None = None) -> Context:
    """The context on `list_id`, or (None) on the member's current list unless the context
    already has one. A list deleted meanwhile is the default list again."""
    if list_id is None:
        if ctx.list_id is not None:
            return ctx
        list_id = ctx.member.list_id or 0
    if list_id:
        row = await ListRepo(uow.session).get(list_id)
        if row is not None and row.group_id == ctx.group.id and row.deleted_at is None:
            return replace(ctx, list_id=row.id, list_name=row.name)
        if ctx.member.list_id == list_id:
            ctx.member.list_id = 0
    return replace(ctx, list_id=0, list_name=None)


def _alike(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)):
        return True
    return SequenceMatcher(None, a, b).ratio() >= LOOSE_RATIO


def match_lists(rows: Sequence[ShoppingList], name: str) -> list[int]:
    """The lists a name may mean, by id (0: the default list): the same key or concept,
    else loosely alike names; empty when none fits."""
    concept = list_concept(name)
    if concept == DEFAULT:
        return [0]
    key = list_key(name)
    exact = [row.id for row in rows if row.key == key or row.concept == concept]
    if exact:
        return exact
    return [row.id for row in rows if _alike(row.key, key)]


async def take_back_list(ctx: Context, uow: UnitOfWork, entry: dict[str, Any]) -> bool:
    """Undo one list change: a created list goes, a deleted one comes back, a renamed one
    gets its old name (unless it was renamed again since, or the name is taken)."""
    repo = ListRepo(uow.session)
    row = await repo.get(int(entry.get("list", 0)))
    if row is None or row.group_id != ctx.group.id:
        return False
    op = entry.get("op")
    if op == "list_create":
        if not await repo.set_deleted(row.id, True):
            return False
        await repo.leave(ctx.group.id, row.id)
        return True
    if op == "list_delete":
        return await repo.set_deleted(row.id, False)
    if op == "list_rename":
        if row.name != entry.get("after"):
            return False
        before = str(entry.get("before", ""))
        return await repo.rename(row.id, before, list_key(before), list_concept(before))
    return False


def list_title(ctx: Context) -> str:
    """The title a list is shown under: the group's, and a named list's name after it."""
    return f"{ctx.group.title} · {ctx.list_name}" if ctx.list_name else ctx.group.title


async def other_lists(ctx: Context, uow: UnitOfWork, lang: str) -> Reply | None:
    """The group's other lists, with their open lines ("also: Pharmacy (3)"), or None when
    it has no named list."""
    rows = await ListRepo(uow.session).live(ctx.group.id)
    if not rows:
        return None
    counts = await ListRepo(uow.session).open_counts(ctx.group.id)
    names = [(0, plain("default_list", lang))] + [(row.id, row.name) for row in rows]
    shown = [f"{name} ({counts.get(list_id, 0)})" for list_id, name in names
             if list_id != list_id_of(ctx)]
    return Reply("other_lists", lang, {"lists": shown}) if shown else None


async def ask_list(ctx: Context, uow: UnitOfWork, lang: str, user_id: int, action: str,
                   ids: Sequence[int], name: str, missing: bool = False,
                   **extra: Any) -> Reply:
    """Ask which list a name means: a button per list (and for an add to a list that does
    not exist, "create it"). The question is stored, so the answer needs nothing else."""
    rows = {row.id: row.name for row in await ListRepo(uow.session).live(ctx.group.id)}
    ids = [list_id for list_id in ids if list_id == 0 or list_id in rows][:8]
    question = await uow.items.ask(ctx.group.id, user_id, QuestionKind.LIST, {
        "action": action, "lists": list(ids), "name": name, **extra})
    buttons: list[tuple[Button, ...]] = [
        (Button("btn_list", encode(AnswerWhichList(question.id, index)),
                {"name": rows.get(list_id) or plain("default_list", lang)},
                role=Role.OPTION),)
        for index, list_id in enumerate(ids)]
    if action == "add":
        buttons.insert(0, (Button("btn_new_list", encode(AnswerWhichList(question.id, "new")),
                                  {"name": name},
                                  role=Role.OPTION),))
        if missing:
            return Reply("list_not_found_add", lang, {"name": name}, buttons=tuple(buttons))
    return Reply("which_list", lang, {"name": name}, buttons=tuple(buttons))


async def named_list(ctx: Context, uow: UnitOfWork, msg: Routed) -> Context | Reply:
    """The context on the list an add names, or a question: which of several lists, or
    whether to create a list of that name (or add to the current one)."""
    name = msg.entities.list_name or ""
    rows = await ListRepo(uow.session).live(ctx.group.id)
    ids = match_lists(rows, name)
    if len(ids) == 1:
        return await on_list(ctx, uow, ids[0])
    items = [item.to_json() for item in msg.entities.items]
    return await ask_list(ctx, uow, msg.lang, msg.incoming.user_id, "add",
                          ids or [list_id_of(ctx)], name, missing=not ids, items=items)


async def shown_list(ctx: Context, uow: UnitOfWork, name: str) -> Context:
    """The context on the one list a question names; the current one when the name fits
    none or several (a question about the list never asks back)."""
    ids = match_lists(await ListRepo(uow.session).live(ctx.group.id), name)
    return await on_list(ctx, uow, ids[0]) if len(ids) == 1 else ctx
