"""The list itself: add, show, tick, remove, partial completion, clear, amounts and undo."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from db.models import Item as ItemRow
from db.store import UnitOfWork, utcnow
from handlers.common import MAX_QUANTITY, Context, resolve
from handlers.reply import Button, Effect, EffectKind, Reply
from router.entities import MAX_ITEMS
from router.lexicon import CATEGORIES, lexicon
from router.normalize import clean_text, normalize
from router.types import Item, Routed, Source

__all__ = [
    "add_items",
    "handle_clear_list",
    "handle_grocery_request",
    "handle_list_query",
    "handle_partial_completion",
    "handle_remove_item",
    "handle_update_quantity",
    "list_reply",
    "tick_item",
    "undo_action",
]

MAX_NAME = 100
# Words that make a leftover phrase a clause ("we have some at home"), not a missing item.
_SENTENCE_WORDS = frozenset(normalize(w) for w in (
    "יש לנו בבית אמרה אמר כבר have home we said already عنا عندنا بالبيت قالت قال".split()))


def item_key(name: str) -> str:
    """The merge key: the lexicon's name for any of its spellings, normalized."""
    return normalize(lexicon().canonical(name))


# Units are stored in one canonical (singular) spelling so amounts merge; shown plural.
PLURAL_UNITS = {
    "loaf": "loaves", "bottle": "bottles", "pack": "packs", "carton": "cartons", "bag": "bags",
    "can": "cans", "box": "boxes", "jar": "jars", "bunch": "bunches", "tray": "trays",
    "cup": "cups", "בקבוק": "בקבוקים", "חבילה": "חבילות", "קרטון": "קרטונים",
    "שקית": "שקיות", "קופסה": "קופסאות", "מגש": "מגשים", "פחית": "פחיות",
    "צנצנת": "צנצנות", "כיכר": "כיכרות", "תבנית": "תבניות", "ארגז": "ארגזים",
    "علبة": "علب", "كيس": "أكياس", "قنينة": "قناني", "ربطة": "ربطات", "حبة": "حبات",
}


def format_amount(quantity: float | None, unit: str | None) -> str:
    """"2", "0.5 קילו", "1.5 kg", "2 loaves"; empty when there is no amount."""
    if quantity is None:
        return unit or ""
    text = str(int(quantity)) if float(quantity).is_integer() else f"{quantity:g}"
    if unit and quantity != 1:
        unit = PLURAL_UNITS.get(unit, unit)
    return f"{text} {unit}" if unit else text


def describe(name: str, quantity: float | None, unit: str | None) -> str:
    """An item as one line of text: amount first, as people write lists."""
    amount = format_amount(quantity, unit)
    return f"{amount} {name}" if amount else name


def _snapshot(row: ItemRow) -> dict[str, Any]:
    return {"id": row.id, "status": row.status, "quantity": row.quantity, "unit": row.unit}


def _bad_items(items: Sequence[Item]) -> str | None:
    """The message key for an entity list the bot must refuse, or None when it is fine."""
    if len(items) > MAX_ITEMS:
        return "too_many_items"
    for item in items:
        if item.quantity is not None and (
            math.isnan(item.quantity) or item.quantity <= 0 or item.quantity > MAX_QUANTITY
        ):
            return "absurd_quantity"
        if len(item.name) > MAX_NAME:
            return "name_too_long"
    return None


def _clean_name(name: str) -> str:
    return clean_text(name)[:MAX_NAME]


async def add_items(ctx: Context, items: Sequence[Item], uow: UnitOfWork,
                    user_id: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Add items, merging with open ones of the same key when the units agree.

    Returns the lines to show and the undo snapshot.
    """
    lines: list[str] = []
    undo: list[dict[str, Any]] = []
    for item in items:
        name = _clean_name(lexicon().canonical(item.name))
        if not name:
            continue
        key = item_key(name)
        same = [row for row in await uow.items.open_by_key(ctx.group.id, key)
                if row.unit == item.unit]
        if same:
            row = same[0]
            undo.append(_snapshot(row))
            if item.quantity is not None or row.quantity is not None:
                # An unstated amount counts as one of the thing when the other side has one.
                row.quantity = (row.quantity if row.quantity is not None else 1.0) + (
                    item.quantity if item.quantity is not None else 1.0)
                row.updated_at = utcnow()
            lines.append(describe(row.name, row.quantity, row.unit))
            continue
        row = await uow.items.add(ctx.group.id, name, key, item.quantity, item.unit,
                                  lexicon().category(name), user_id)
        undo.append({"id": row.id, "status": "removed", "quantity": row.quantity,
                     "unit": row.unit})
        lines.append(describe(name, item.quantity, item.unit))
    return lines, undo


def _undo_button(action_id: int) -> tuple[tuple[Button, ...], ...]:
    return ((Button("btn_undo", f"u:{action_id}"),),)


async def handle_grocery_request(msg: Routed, uow: UnitOfWork) -> Reply:
    """Add the message's items to the list."""
    ctx = await resolve(msg.incoming, uow)
    items = msg.entities.items
    if not items:
        return Reply("add_what", msg.lang)
    problem = _bad_items(items)
    if problem:
        return Reply(problem, msg.lang, {"limit": MAX_ITEMS, "max": int(MAX_QUANTITY)})
    lines, undo = await add_items(ctx, items, uow, msg.incoming.user_id)
    if not lines:
        return Reply("add_what", msg.lang)
    action = await uow.items.record(ctx.group.id, msg.incoming.user_id, "add", lines, undo)
    return Reply("added", msg.lang, {"items": lines}, buttons=_undo_button(action.id),
                 effects=(Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),))


def _sections(rows: Sequence[ItemRow]) -> list[tuple[str, list[tuple[int, str]]]]:
    by_category: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        category = row.category if row.category in CATEGORIES else "other"
        by_category.setdefault(category, []).append(
            (row.id, describe(row.name, row.quantity, row.unit)))
    return [(category, by_category[category]) for category in CATEGORIES
            if category in by_category]


async def list_reply(ctx: Context, uow: UnitOfWork, lang: str, edit: bool = False,
                     toast: str | None = None) -> Reply:
    """The list grouped by shelf category, with a tick-off button per item."""
    rows = await uow.items.open_items(ctx.group.id)
    if not rows:
        return Reply("list_empty", lang, {"title": ctx.group.title}, edit=edit, toast=toast)
    sections = _sections(rows)
    buttons: list[tuple[Button, ...]] = []
    row_buttons: list[Button] = []
    for _category, entries in sections:
        for item_id, text in entries:
            row_buttons.append(Button("btn_tick", f"t:{item_id}", {"item": text}))
            if len(row_buttons) == 2:
                buttons.append(tuple(row_buttons))
                row_buttons = []
    if row_buttons:
        buttons.append(tuple(row_buttons))
    # Telegram caps inline keyboards at 100 buttons; the text still shows every item.
    return Reply("list", lang, {"title": ctx.group.title, "sections": sections,
                                "count": len(rows)},
                 buttons=tuple(buttons[:48]), edit=edit, toast=toast)


async def handle_list_query(msg: Routed, uow: UnitOfWork) -> Reply:
    """Show the open items."""
    ctx = await resolve(msg.incoming, uow)
    return await list_reply(ctx, uow, msg.lang)


def _matches(rows: Sequence[ItemRow], wanted: Sequence[Item]) -> tuple[list[ItemRow], list[str]]:
    """Open rows named by the wanted items (by key, then by a word inside the name)."""
    found: list[ItemRow] = []
    missing: list[str] = []
    for item in wanted:
        key = item_key(item.name)
        hits = [row for row in rows if row.key == key]
        if not hits:
            hits = [row for row in rows if key and (key in row.key.split() or
                                                     row.key in key.split())]
        if not hits:
            # An older row may carry an article the lexicon did not strip ("הקפה").
            hits = [row for row in rows if (row.key[1:] == key and row.key[:1] in "הו")
                    or (row.key[2:] == key and row.key[:2] == "ال")]
        if not hits and len(key) >= 3:
            hits = [row for row in rows if row.key.startswith(key) or key.startswith(row.key)]
        if hits:
            found.extend(row for row in hits if row not in found)
        elif len(item.name.split()) <= 3 and not _SENTENCE_WORDS & set(key.split()):
            # Longer leftovers are the rest of a sentence ("mom said no"), not an item.
            missing.append(item.name)
    return found, missing


async def handle_remove_item(msg: Routed, uow: UnitOfWork) -> Reply:
    """Take named items off the list, unbought."""
    ctx = await resolve(msg.incoming, uow)
    if not msg.entities.items:
        return Reply("remove_what", msg.lang)
    rows = await uow.items.open_items(ctx.group.id)
    found, missing = _matches(rows, msg.entities.items)
    if not found:
        return Reply("not_on_list", msg.lang, {"items": missing})
    undo = [_snapshot(row) for row in found]
    for row in found:
        row.status = "removed"
        row.updated_at = utcnow()
    names = [row.name for row in found]
    action = await uow.items.record(ctx.group.id, msg.incoming.user_id, "remove", names, undo)
    return Reply("removed", msg.lang, {"items": names, "missing": missing},
                 buttons=_undo_button(action.id),
                 effects=(Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),))


async def _mark_bought(ctx: Context, uow: UnitOfWork, rows: Sequence[ItemRow], user_id: int,
                       kind: str) -> int:
    undo = [_snapshot(row) for row in rows]
    for row in rows:
        row.status = "bought"
        row.updated_at = utcnow()
    action = await uow.items.record(ctx.group.id, user_id, kind, [row.name for row in rows],
                                    undo)
    return action.id


# Marking the whole list bought on a guess is the costliest mistake the model can make.
SURE_ENOUGH_TO_CLEAR = 0.9


def _needs_confirmation(msg: Routed) -> bool:
    """Forwarded or old messages, and a model that is not quite sure, ask before marking
    many items bought (a fresh command or a sure model acts at once, with Undo)."""
    if msg.extra.get("confirmed"):
        return False
    unsure = msg.source is Source.MODEL and msg.confidence < SURE_ENOUGH_TO_CLEAR
    return msg.incoming.forwarded or unsure


async def handle_clear_list(msg: Routed, uow: UnitOfWork) -> Reply:
    """Everything was bought: mark every open item bought (undoable)."""
    ctx = await resolve(msg.incoming, uow)
    rows = await uow.items.open_items(ctx.group.id)
    if not rows:
        return Reply("list_empty", msg.lang, {"title": ctx.group.title})
    if _needs_confirmation(msg):
        return Reply("confirm_clear", msg.lang, {"count": len(rows)},
                     buttons=((Button("btn_yes_clear", "c:clear"), Button("btn_cancel", "x")),))
    action_id = await _mark_bought(ctx, uow, rows, msg.incoming.user_id, "clear")
    return Reply("cleared", msg.lang, {"count": len(rows)}, buttons=_undo_button(action_id),
                 effects=(Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),))


async def handle_partial_completion(msg: Routed, uow: UnitOfWork) -> Reply:
    """Bought everything except the named items, which stay on the list."""
    ctx = await resolve(msg.incoming, uow)
    rows = await uow.items.open_items(ctx.group.id)
    if not rows:
        return Reply("list_empty", msg.lang, {"title": ctx.group.title})
    if not msg.entities.items:
        return Reply("partial_which", msg.lang)
    keep, missing = _matches(rows, msg.entities.items)
    if missing and not keep:
        # Marking everything bought because a name did not match would lose items.
        return Reply("not_on_list", msg.lang, {"items": missing})
    if _needs_confirmation(msg):
        return Reply("confirm_clear", msg.lang, {"count": len(rows) - len(keep)},
                     buttons=((Button("btn_yes_clear", "c:partial"), Button("btn_cancel", "x")),))
    bought = [row for row in rows if row not in keep]
    action_id = await _mark_bought(ctx, uow, bought, msg.incoming.user_id, "partial")
    return Reply("partial_done", msg.lang,
                 {"count": len(bought), "items": [describe(r.name, r.quantity, r.unit)
                                                  for r in keep], "missing": missing},
                 buttons=_undo_button(action_id),
                 effects=(Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),))


async def handle_update_quantity(msg: Routed, uow: UnitOfWork) -> Reply:
    """Set the amount of items already on the list (adds the item when it is not there)."""
    ctx = await resolve(msg.incoming, uow)
    items = [item for item in msg.entities.items if item.quantity is not None]
    if not items:
        return Reply("update_what", msg.lang)
    problem = _bad_items(items)
    if problem:
        return Reply(problem, msg.lang, {"limit": MAX_ITEMS, "max": int(MAX_QUANTITY)})
    rows = await uow.items.open_items(ctx.group.id)
    undo: list[dict[str, Any]] = []
    lines: list[str] = []
    to_add: list[Item] = []
    for item in items:
        found, _missing = _matches(rows, [item])
        if not found:
            to_add.append(item)
            continue
        row = found[0]
        undo.append(_snapshot(row))
        row.quantity = item.quantity
        row.unit = item.unit if item.unit else row.unit
        row.updated_at = utcnow()
        lines.append(describe(row.name, row.quantity, row.unit))
    if to_add:
        added, added_undo = await add_items(ctx, to_add, uow, msg.incoming.user_id)
        lines.extend(added)
        undo.extend(added_undo)
    action = await uow.items.record(ctx.group.id, msg.incoming.user_id, "update", lines, undo)
    return Reply("updated", msg.lang, {"items": lines}, buttons=_undo_button(action.id),
                 effects=(Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),))


async def undo_action(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                      action_id: int | None) -> Reply:
    """Put the items an action touched back as they were."""
    action = (await uow.items.action(action_id) if action_id is not None
              else await uow.items.last_undoable(ctx.group.id, user_id))
    if action is None or action.group_id != ctx.group.id:
        return Reply("nothing_to_undo", lang)
    if action.undone_at is not None:
        return Reply("already_undone", lang)
    for snapshot in action.undo:
        row = await uow.items.get(int(snapshot["id"]))
        if row is None or row.group_id != ctx.group.id:
            continue
        row.status = snapshot["status"]
        row.quantity = snapshot["quantity"]
        row.unit = snapshot["unit"]
        row.updated_at = utcnow()
    action.undone_at = utcnow()
    await uow.items.record(ctx.group.id, user_id, "undo", list(action.summary), [])
    return Reply("undone", lang, {"items": list(action.summary)},
                 effects=(Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),))


async def tick_item(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                    item_id: int) -> Reply:
    """A tick on the list message: mark one item bought and redraw the list in place."""
    row = await uow.items.get(item_id)
    if row is None or row.group_id != ctx.group.id:
        return Reply(None, lang, toast="stale")
    if row.status == "open":
        undo = [_snapshot(row)]
        row.status = "bought"
        row.updated_at = utcnow()
        await uow.items.record(ctx.group.id, user_id, "tick", [row.name], undo)
    reply = await list_reply(ctx, uow, lang, edit=True, toast=row.name)
    return Reply(reply.key, reply.lang, reply.params, reply.buttons,
                 (Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),),
                 edit=True, toast=row.name)
