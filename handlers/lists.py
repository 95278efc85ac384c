"""Several lists per group: create, switch to, show, rename and delete named lists.

LIST_MANAGE in words ("a list for the pharmacy", "switch to the party list") and the
commands /lists, /newlist, /uselist, /renamelist and /dellist reach the same handler.
Switching is per member: each member's words act on the list they last chose in this group
(handlers/listref.py), so one member shopping at the pharmacy does not move everyone's adds
there. Every change to a
list is recorded with its inverse, so Undo takes it back like any change to items.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from db.lists import ListRepo
from db.models import ActionKind, QuestionKind
from db.store import UnitOfWork, utcnow
from handlers.buttons import UndoAction, UseList, encode
from handlers.common import Context, resolve
from handlers.i18n import plain
from handlers.items import add_items_to, handle_grocery_request, list_reply
from handlers.listref import ask_list, list_id_of, match_lists, on_list
from handlers.reply import Button, Effect, EffectKind, Reply
from router.lists import DEFAULT, clean_name, list_concept, list_key
from router.types import ChatKind, Entities, Incoming, Intent, Item, Routed, Source

__all__ = ["answer_list_question", "command_entities", "handle_list_manage"]

# A group keeps at most this many live lists (Telegram keyboards and replies stay short).
MAX_LISTS = 20


def command_entities(name: str, args: str) -> Entities | None:
    """The LIST_MANAGE entities of a list command, or None when `name` is none of them.

    `/renamelist NEW` renames the current list; `/renamelist OLD > NEW` (or `->`, `=`, `→`)
    another one."""
    args = args.strip()
    if name == "lists":
        return Entities(action="show")
    if name == "newlist":
        return Entities(action="create", list_name=clean_name(args) or (args[:64] or None))
    if name == "uselist":
        return Entities(action="switch" if args else "show",
                        list_name=clean_name(args) or (args[:64] or None))
    if name == "dellist":
        return Entities(action="delete", list_name=clean_name(args) or (args[:64] or None))
    if name == "renamelist":
        for separator in ("->", "→", ">", "="):
            if separator in args:
                old, _, new = args.partition(separator)
                return Entities(action="rename", list_name=old.strip()[:64] or None,
                                new_name=new.strip()[:64] or None)
        return Entities(action="rename", new_name=args[:64] or None)
    return None


def _changed(ctx: Context) -> tuple[Effect, ...]:
    return (Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),)


def _undo(action_id: int) -> tuple[tuple[Button, ...], ...]:
    return ((Button("btn_undo", encode(UndoAction(action_id))),),)


async def _names(ctx: Context, uow: UnitOfWork, lang: str) -> list[str]:
    rows = await ListRepo(uow.session).live(ctx.group.id)
    counts = await ListRepo(uow.session).open_counts(ctx.group.id)
    current = list_id_of(ctx)
    out = []
    for list_id, name in [(0, plain("default_list", lang)), *((r.id, r.name) for r in rows)]:
        mark = "👉 " if list_id == current else ""
        out.append(f"{mark}{name} ({counts.get(list_id, 0)})")
    return out


async def _overview(ctx: Context, uow: UnitOfWork, lang: str) -> Reply:
    """Every list of the group, the sender's current one marked, a switch button each."""
    rows = await ListRepo(uow.session).live(ctx.group.id)
    buttons = tuple((Button("btn_use_list", encode(UseList(list_id)), {"name": name}),)
                    for list_id, name in [(0, plain("default_list", lang)),
                                          *((r.id, r.name) for r in rows)]
                    if list_id != list_id_of(ctx))
    return Reply("lists_overview", lang, {"lists": await _names(ctx, uow, lang),
                                          "count": len(rows) + 1}, buttons=buttons[:20])


async def switch_to(ctx: Context, uow: UnitOfWork, lang: str, list_id: int,
                    private: bool | None = None, edit: bool = False) -> Reply:
    """Make `list_id` the sender's current list and show it."""
    ctx = await on_list(ctx, uow, list_id)
    ctx.member.list_id = list_id_of(ctx)
    said = Reply("list_switched", lang,
                 {"name": ctx.list_name or plain("default_list", lang)})
    shown = await list_reply(ctx, uow, lang, private=private)
    return replace(shown.preceded_by(said), edit=edit)


async def _create(ctx: Context, uow: UnitOfWork, lang: str, user_id: int, name: str,
                  private: bool | None) -> Reply:
    repo = ListRepo(uow.session)
    if list_concept(name) == DEFAULT:
        return await switch_to(ctx, uow, lang, 0, private)
    rows = await repo.live(ctx.group.id)
    same = [row for row in rows if row.key == list_key(name)
            or row.concept == list_concept(name)]
    if same:
        reply = await switch_to(ctx, uow, lang, same[0].id, private)
        exists = Reply("list_exists", lang, {"name": same[0].name})
        return replace(reply, before=(exists, *reply.before[1:]))
    if len(rows) >= MAX_LISTS:
        return Reply("too_many_lists", lang, {"limit": MAX_LISTS})
    row = await repo.create(ctx.group.id, name, list_key(name), list_concept(name), user_id)
    if row is None:
        return Reply("list_exists", lang, {"name": name})
    ctx.member.list_id = row.id
    action = await uow.items.record(ctx.group.id, user_id, ActionKind.LIST_CREATE, [name],
                                    [{"op": "list_create", "list": row.id, "label": name}],
                                    list_id=row.id)
    return Reply("list_created", lang, {"name": name}, buttons=_undo(action.id),
                 effects=_changed(ctx))


async def _target(ctx: Context, uow: UnitOfWork, msg: Routed, action: str,
                  name: str | None, **extra: Any) -> int | Reply:
    """The one list a name means (None: the current one), or the reply that says why not."""
    if name is None:
        return list_id_of(ctx)
    ids = match_lists(await ListRepo(uow.session).live(ctx.group.id), name)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        return Reply("list_not_found", msg.lang,
                     {"name": name, "lists": await _names(ctx, uow, msg.lang)})
    return await ask_list(ctx, uow, msg.lang, msg.incoming.user_id, action, ids, name,
                          **extra)


async def _rename(ctx: Context, uow: UnitOfWork, lang: str, user_id: int, list_id: int,
                  new: str) -> Reply:
    if list_id == 0 or list_concept(new) == DEFAULT:
        return Reply("list_default_fixed", lang, {"name": plain("default_list", lang)})
    repo = ListRepo(uow.session)
    row = await repo.get(list_id)
    if row is None or row.deleted_at is not None:
        return Reply("list_not_found", lang, {"name": new, "lists": []})
    old = row.name
    if not await repo.rename(row.id, new, list_key(new), list_concept(new)):
        return Reply("list_exists", lang, {"name": new})
    action = await uow.items.record(ctx.group.id, user_id, ActionKind.LIST_RENAME,
                                    [f"{old} → {new}"],
                                    [{"op": "list_rename", "list": row.id,
                                      "label": f"{old} → {new}", "before": old,
                                      "after": new}], list_id=row.id)
    return Reply("list_renamed", lang, {"old": old, "name": new}, buttons=_undo(action.id),
                 effects=_changed(ctx))


async def _delete(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                  list_id: int) -> Reply:
    if list_id == 0:
        return Reply("list_default_fixed", lang, {"name": plain("default_list", lang)})
    repo = ListRepo(uow.session)
    row = await repo.get(list_id)
    if row is None or not await repo.set_deleted(list_id, True):
        return Reply("list_not_found", lang, {"name": "", "lists": []})
    await repo.leave(ctx.group.id, list_id)
    if ctx.member.list_id == list_id:
        ctx.member.list_id = 0
    count = (await repo.open_counts(ctx.group.id)).get(list_id, 0)
    action = await uow.items.record(ctx.group.id, user_id, ActionKind.LIST_DELETE, [row.name],
                                    [{"op": "list_delete", "list": row.id,
                                      "label": row.name}], list_id=row.id)
    return Reply("list_deleted", lang, {"name": row.name, "count": count},
                 buttons=_undo(action.id), effects=_changed(ctx))


async def _act(ctx: Context, uow: UnitOfWork, msg: Routed, action: str,
               list_id: int, new: str | None) -> Reply:
    private = msg.incoming.chat_kind is ChatKind.PRIVATE
    user_id = msg.incoming.user_id
    if action in ("switch", "open"):
        return await switch_to(ctx, uow, msg.lang, list_id, private)
    if action == "rename":
        if not new:
            return Reply("list_rename_what", msg.lang)
        return await _rename(ctx, uow, msg.lang, user_id, list_id, new)
    if action == "delete":
        return await _delete(ctx, uow, msg.lang, user_id, list_id)
    return await _overview(ctx, uow, msg.lang)


async def handle_list_manage(msg: Routed, uow: UnitOfWork) -> Reply:
    """Create, switch to, show, rename or delete a list, as the entities say."""
    entities = msg.entities
    if entities.action == "add":
        # Items for a named list: an add, whichever intent the model read it as.
        return await handle_grocery_request(
            replace(msg, intents=(Intent.GROCERY_REQUEST,), entities_list=(entities,)), uow)
    ctx = await on_list(await resolve(msg.incoming, uow), uow)
    action = entities.action or "show"
    name = entities.list_name
    private = msg.incoming.chat_kind is ChatKind.PRIVATE
    if action == "show" or (action in ("switch", "create", "open") and not name):
        if action == "create":
            return Reply("list_name_what", msg.lang)
        return await _overview(ctx, uow, msg.lang)
    if action == "create":
        assert name is not None
        return await _create(ctx, uow, msg.lang, msg.incoming.user_id, name, private)
    if action == "open":
        assert name is not None
        ids = match_lists(await ListRepo(uow.session).live(ctx.group.id), name)
        if not ids:
            return await _create(ctx, uow, msg.lang, msg.incoming.user_id, name, private)
    if action == "rename" and not entities.new_name:
        return Reply("list_rename_what", msg.lang)
    target = await _target(ctx, uow, msg, action, name, new_name=entities.new_name)
    if isinstance(target, Reply):
        return target
    return await _act(ctx, uow, msg, action, target, entities.new_name)


async def answer_list_question(ctx: Context, uow: UnitOfWork, incoming: Incoming,
                               lang: str, question_id: int, choice: str) -> Reply:
    """A button under "which list?": carry out what was asked on the chosen list."""
    question = await uow.items.question(question_id)
    if question is None or question.group_id != ctx.group.id or question.kind != QuestionKind.LIST:
        return Reply(None, lang, toast="stale")
    if question.answered_at is not None:
        return Reply(None, lang, toast="already_answered")
    payload = question.payload
    ids = [int(i) for i in payload.get("lists", [])]
    action = str(payload.get("action", ""))
    user_id = incoming.user_id
    if choice == "new" and action == "add":
        name = str(payload.get("name", ""))[:64]
        repo = ListRepo(uow.session)
        same = [row for row in await repo.live(ctx.group.id) if row.key == list_key(name)]
        row = same[0] if same else await repo.create(
            ctx.group.id, name, list_key(name), list_concept(name), user_id)
        if row is None:
            return Reply(None, lang, toast="stale")
        if not same:
            await uow.items.record(ctx.group.id, user_id, ActionKind.LIST_CREATE, [name],
                                   [{"op": "list_create", "list": row.id, "label": name}],
                                   list_id=row.id)
        list_id = row.id
    elif choice.isdigit() and int(choice) < len(ids):
        list_id = ids[int(choice)]
    else:
        return Reply(None, lang, toast="stale")
    question.answered_at = utcnow()
    if action == "add":
        items = [Item(name=str(i["name"]), quantity=i.get("quantity"), unit=i.get("unit"),
                      note=i.get("note")) for i in payload.get("items", [])]
        target = await on_list(ctx, uow, list_id)
        return replace(await add_items_to(target, uow, lang, user_id, items), edit=True)
    routed = Routed(incoming, (), (), 1.0, True, Source.USER, lang)
    new = payload.get("new_name")
    reply = await _act(ctx, uow, routed, action, list_id, new if isinstance(new, str) else None)
    return replace(reply, edit=True)
