"""The list itself: add, show, tick, remove, partial completion, clear, amounts and undo.

A line keeps the words its author wrote and is matched by the concept they stand for, in any
language and form (handlers/matching.py); readers of another language see their own word
beside it. Adds say what they added and the new total. When a name could mean two lines the
bot asks, with a button per line, and the answer carries the change out.

Every change records its own inverse, line by line ("this add put 2 on line 7", "this tick
bought line 9"), so undo takes back exactly that change and nothing anyone did after it:
amounts are subtracted, lines put back (or merged into the line that took their place), and
what cannot be taken back cleanly is said, not forced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from db.models import ActionKind, GroupKind, ItemStatus, QuestionKind
from db.models import Item as ItemRow
from db.store import UnitOfWork, utcnow
from handlers.buttons import (
    AnswerWhich,
    Cancel,
    ConfirmClear,
    TickItem,
    UndoAction,
    encode,
)
from handlers.common import MAX_QUANTITY, Context, resolve
from handlers.i18n import plain
from handlers.listref import (
    list_id_of,
    list_title,
    named_list,
    on_list,
    other_lists,
    shown_list,
    take_back_list,
)
from handlers.matching import (
    MAX_NAME,
    Wanted,
    find_lines,
    fuzzy_lines,
    reader_word,
    same_note,
    wanted,
)
from handlers.memory import aisle_order, quick_add_buttons
from handlers.reply import Button, Effect, EffectKind, Reply, Role
from router.entities import MAX_ITEMS, bought_items
from router.languages import codes, read_json
from router.lexicon import CATEGORIES, lexicon
from router.normalize import normalize
from router.types import ChatKind, Incoming, Item, Routed, Source

__all__ = [
    "add_items",
    "add_items_to",
    "answer_question",
    "describe",
    "entry_label",
    "format_amount",
    "handle_clear_list",
    "handle_grocery_request",
    "handle_list_query",
    "handle_partial_completion",
    "handle_remove_item",
    "handle_undo_command",
    "handle_update_quantity",
    "label",
    "list_reply",
    "tick_item",
    "tick_named",
    "undo_action",
]

# Words that make a leftover phrase a clause ("we have some at home"), not a missing item.
_SENTENCE_WORDS = frozenset(normalize(word) for code in codes()
                            for word in read_json(code, "words.json")["sentence_words"])
# A question offers at most this many lines (Telegram keyboards stay readable).
MAX_CHOICES = 8

# Units are stored in one canonical (singular) spelling so amounts merge; shown plural
# (each language's amounts.json, `unit_plurals`).
PLURAL_UNITS: dict[str, str] = {
    unit: plural for code in codes()
    for unit, plural in read_json(code, "amounts.json")["unit_plurals"].items()}


def format_amount(quantity: float | None, unit: str | None) -> str:
    """"2", "0.5 kg", "1.5 kg", "2 loaves"; empty when there is no amount."""
    if quantity is None:
        return unit or ""
    text = str(int(quantity)) if float(quantity).is_integer() else f"{quantity:g}"
    if unit and quantity != 1:
        unit = PLURAL_UNITS.get(unit, unit)
    return f"{text} {unit}" if unit else text


def describe(name: str, quantity: float | None, unit: str | None,
             note: str | None = None) -> str:
    """An item as one line of text: amount first, as people write lists; a note after it."""
    amount = format_amount(quantity, unit)
    text = f"{amount} {name}" if amount else name
    return f"{text} ({note})" if note else text


def label(row: ItemRow, lang: str) -> str:
    """A line as a reader of `lang` sees it: its author's words, and the reader's own word
    for it when the author wrote in another language (the Arabic word, a slash, then the
    Hebrew one for a Hebrew reader)."""
    text = describe(row.name, row.quantity, row.unit, row.note)
    word = reader_word(row.name, row.concept, lang)
    return f"{text} / {word}" if word else text


def entry_label(entry: dict[str, Any], lang: str) -> str:
    """A recorded change's line (see `_entry`) for a reader of `lang`, as `label` does."""
    text = str(entry.get("label", ""))
    word = reader_word(str(entry.get("name", "")), str(entry.get("concept", "")), lang)
    return f"{text} / {word}" if word else text


def _entry(op: str, row: ItemRow, text: str, **more: Any) -> dict[str, Any]:
    """One line of a change's inverse: what to take back on which line, and how to say it."""
    return {"op": op, "id": row.id, "label": text, "name": row.name, "concept": row.concept,
            **more}


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


def _undo_button(action_id: int) -> tuple[Button, ...]:
    return (Button("btn_undo", encode(UndoAction(action_id))),)


def _changed(ctx: Context) -> tuple[Effect, ...]:
    return (Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id}),)


def _compose(parts: Sequence[Reply], buttons: Sequence[tuple[Button, ...]] = (),
             effects: tuple[Effect, ...] = (), edit: bool = False) -> Reply:
    """Several sentences as one reply, in order (the earlier ones ride in `before`)."""
    return replace(parts[-1].preceded_by(*parts[:-1]), buttons=tuple(buttons),
                   effects=effects, edit=edit)


def _is_item_like(name: str) -> bool:
    # Longer leftovers are the rest of a sentence ("mom said no"), not an item.
    words = normalize(name).split()
    return 0 < len(words) <= 3 and not _SENTENCE_WORDS & set(words)


# ---------------------------------------------------------------------------- adding


@dataclass
class _Adds:
    """What one add did: lines to show, what to record, lines already there, a question."""

    lines: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    undo: list[dict[str, Any]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    question: Reply | None = None


async def _who(uow: UnitOfWork, row: ItemRow, lang: str) -> str:
    user = await uow.groups.user(row.added_by)
    name = user.display_name if user is not None else str(row.added_by)
    return plain("item_by", lang, item=label(row, lang), user=name)


def _with_total(text: str, row: ItemRow, added: float | None, lang: str) -> str:
    # The total is news only when the line had an amount before this one.
    if row.quantity is None or added is None or abs(row.quantity - added) < 1e-9:
        return text
    return plain("item_total", lang, item=text, total=format_amount(row.quantity, row.unit))


async def _put(ctx: Context, uow: UnitOfWork, item: Wanted, target: ItemRow | None,
               user_id: int, lang: str, out: _Adds) -> None:
    """Add one item: onto `target`, or as its own line (merged by the store when the list
    meanwhile has that very line)."""
    said = describe(item.name, item.quantity, item.unit, item.note)
    if target is not None:
        if item.quantity is None:
            out.already.append(await _who(uow, target, lang))
            return
        row = await uow.items.add_amount(target.id, item.quantity)
        if row is not None:
            out.lines.append(_with_total(said, row, item.quantity, lang))
            out.summary.append(said)
            out.undo.append(_entry("add", row, said, delta=item.quantity))
            return
    row, created = await uow.items.upsert(
        ctx.group.id, item.name, normalize(item.name), item.concept, item.quantity, item.unit,
        item.note, normalize(item.note or ""), lexicon().concept_category(item.concept),
        user_id, list_id=list_id_of(ctx))
    if created:
        out.lines.append(said)
        out.summary.append(said)
        out.undo.append(_entry("create", row, said, delta=item.quantity))
    elif item.quantity is None:
        out.already.append(await _who(uow, row, lang))
    else:
        out.lines.append(_with_total(said, row, item.quantity, lang))
        out.summary.append(said)
        out.undo.append(_entry("add", row, said, delta=item.quantity))


async def _add(ctx: Context, uow: UnitOfWork, items: Sequence[Item], user_id: int,
               lang: str, ask: bool) -> _Adds:
    """Add items, each onto the line of the same concept, unit and note when the list has
    one. A name that could go onto two lines, or a word outside the lexicon that is close to
    a line's name, is asked about (one question per message) when `ask`; otherwise, and for
    any further such name, it gets its own line."""
    out = _Adds()
    for parsed in items:
        item = wanted(parsed)
        if item is None:
            continue
        rows = await uow.items.open_items(ctx.group.id, list_id_of(ctx))
        same = [row for row in rows if row.concept == item.concept
                and (row.unit or None) == (item.unit or None)]
        if not same and item.quantity is None and item.unit is None:
            # "milk" beside "2 l milk": the milk is there, whatever amount it was given.
            same = [row for row in rows if row.concept == item.concept]
        target = next((row for row in same if same_note(row.note, item.note)), None)
        candidates: list[ItemRow] = []
        if target is None and item.note is None and same:
            # "milk" onto "milk 3%": the one milk line is meant; two of them are a question.
            if len(same) == 1:
                target = same[0]
            else:
                candidates = same
        if target is None and not same and not item.known:
            candidates = [row for row in fuzzy_lines(rows, item)
                          if (row.unit or None) == (item.unit or None)]
        if candidates and ask and out.question is None:
            out.question = await _ask(ctx, uow, QuestionKind.ADD, item, candidates, user_id, lang)
            continue
        await _put(ctx, uow, item, target, user_id, lang, out)
    return out


async def add_items(ctx: Context, items: Sequence[Item], uow: UnitOfWork,
                    user_id: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Add items without asking anything (recipe buttons): each onto its line or as its own.

    Returns the lines to show (those already listed too) and the change's inverse for undo.
    """
    ctx = await on_list(ctx, uow)
    out = await _add(ctx, uow, items, user_id, "he", ask=False)
    added = {entry["label"] for entry in out.undo}
    already = [describe(w.name, w.quantity, w.unit, w.note) for w in map(wanted, items)
               if w is not None and describe(w.name, w.quantity, w.unit, w.note) not in added]
    return out.summary + already, out.undo


async def add_items_to(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                       items: Sequence[Item]) -> Reply:
    """Add items to the context's list without asking anything (an answer to "which
    list?"): what was added, with Undo, or what was already there."""
    out = await _add(ctx, uow, items, user_id, lang, ask=False)
    if not out.summary:
        return (Reply("already_listed", lang, {"items": out.already}) if out.already
                else Reply("add_what", lang))
    action = await uow.items.record(ctx.group.id, user_id, ActionKind.ADD, out.summary, out.undo,
                                    list_id=list_id_of(ctx))
    return Reply("added_to" if ctx.list_name else "added", lang,
                 {"items": out.lines, "list": ctx.list_name or ""},
                 buttons=(_undo_button(action.id),), effects=_changed(ctx))


async def handle_grocery_request(msg: Routed, uow: UnitOfWork) -> Reply:
    """Add the message's items: what was added and the new totals, what was already there
    and who added it, and a question when a name could go onto two lines."""
    ctx = await on_list(await resolve(msg.incoming, uow), uow)
    items = msg.entities.items
    if not items:
        return Reply("add_what", msg.lang)
    problem = _bad_items(items)
    if problem:
        return Reply(problem, msg.lang, {"limit": MAX_ITEMS, "max": int(MAX_QUANTITY)})
    if msg.entities.list_name:
        named = await named_list(ctx, uow, msg)
        if isinstance(named, Reply):
            return named
        ctx = named
    adds = await _add(ctx, uow, items, msg.incoming.user_id, msg.lang, ask=True)
    parts: list[Reply] = []
    buttons: list[tuple[Button, ...]] = []
    effects: tuple[Effect, ...] = ()
    if adds.summary:
        action = await uow.items.record(ctx.group.id, msg.incoming.user_id, ActionKind.ADD,
                                        adds.summary, adds.undo,
                                    list_id=list_id_of(ctx))
        parts.append(Reply("added_to" if ctx.list_name else "added", msg.lang,
                           {"items": adds.lines, "list": ctx.list_name or ""}))
        buttons.append(_undo_button(action.id))
        effects = _changed(ctx)
    if adds.already:
        parts.append(Reply("already_listed", msg.lang, {"items": adds.already}))
    if adds.question is not None:
        parts.append(adds.question)
        buttons = [*adds.question.buttons, *buttons]
    if not parts:
        return Reply("add_what", msg.lang)
    return _compose(parts, buttons, effects)


# ---------------------------------------------------------------------------- questions


_ASKS = {"add": "ask_add", "remove": "ask_remove", "keep": "ask_keep", "update": "ask_update",
         "bought": "ask_bought"}


async def _ask(ctx: Context, uow: UnitOfWork, kind: QuestionKind, item: Wanted,
               lines: Sequence[ItemRow], user_id: int, lang: str,
               **extra: Any) -> Reply:
    """Ask which line a name means: a button per line, and "new line" (adds) or "all of
    them" (removing, keeping, ticking). The question is stored, so the answer needs nothing
    else."""
    lines = list(lines)[:MAX_CHOICES]
    question = await uow.items.ask(ctx.group.id, user_id, kind, {
        "item": item.to_json(), "lines": [row.id for row in lines],
        "list_id": list_id_of(ctx), **extra})
    buttons: list[tuple[Button, ...]] = [
        (Button("btn_line", encode(AnswerWhich(question.id, index)), {"item": label(row, lang)},
                role=Role.OPTION),)
        for index, row in enumerate(lines)]
    said = describe(item.name, item.quantity if kind == QuestionKind.ADD else None,
                    item.unit if kind == QuestionKind.ADD else None, item.note)
    if kind == QuestionKind.ADD:
        buttons.append((Button("btn_new_line", encode(AnswerWhich(question.id, "new")),
                               {"item": said},
                               role=Role.OPTION),))
    elif kind in (QuestionKind.REMOVE, QuestionKind.KEEP, QuestionKind.BOUGHT):
        buttons.append((Button("btn_all_lines", encode(AnswerWhich(question.id, "all")),
                               role=Role.ALL),))
    return Reply(_ASKS[kind], lang, {"item": said,
                                     "amount": format_amount(item.quantity, item.unit)},
                 buttons=tuple(buttons))


async def answer_question(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                          question_id: int, choice: str) -> Reply:
    """A button under "which one?": carry out what was asked on the chosen line(s)."""
    question = await uow.items.question(question_id)
    if question is None or question.group_id != ctx.group.id:
        return Reply(None, lang, toast="stale")
    if question.answered_at is not None:
        return Reply(None, lang, toast="already_answered")
    ctx = await on_list(ctx, uow, int(question.payload.get("list_id") or 0))
    ids = [int(i) for i in question.payload.get("lines", [])]
    if choice == "all":
        chosen = ids
    elif choice.isdigit() and int(choice) < len(ids):
        chosen = [ids[int(choice)]]
    elif choice == "new" and question.kind == QuestionKind.ADD:
        chosen = []
    else:
        return Reply(None, lang, toast="stale")
    question.answered_at = utcnow()
    item = Wanted.from_json(question.payload["item"])
    if question.kind == QuestionKind.ADD:
        target = await uow.items.get(chosen[0]) if chosen else None
        if target is not None and (target.status != ItemStatus.OPEN
                                   or target.group_id != ctx.group.id
                                   or target.list_id != list_id_of(ctx)):
            target = None
        out = _Adds()
        await _put(ctx, uow, item, target, user_id, lang, out)
        if not out.summary:
            return replace(Reply("already_listed", lang, {"items": out.already}), edit=True)
        action = await uow.items.record(ctx.group.id, user_id, ActionKind.ADD, out.summary,
                                        out.undo, list_id=list_id_of(ctx))
        return Reply("added_to" if ctx.list_name else "added", lang,
                     {"items": out.lines, "list": ctx.list_name or ""},
                     buttons=(_undo_button(action.id),),
                     effects=_changed(ctx), edit=True)
    rows = [row for row in await uow.items.open_items(ctx.group.id, list_id_of(ctx))
            if row.id in chosen]
    if question.kind == QuestionKind.REMOVE:
        return await _remove_rows(ctx, uow, lang, user_id, rows, [], edit=True)
    if question.kind == QuestionKind.BOUGHT:
        return await _tick_rows(ctx, uow, lang, user_id, rows, [], edit=True)
    if question.kind == QuestionKind.KEEP:
        keep = {int(i) for i in question.payload.get("keep", [])} | set(chosen)
        newest = int(question.payload.get("newest", 0))
        return await _complete_except(ctx, uow, lang, user_id, keep, newest,
                                      list(question.payload.get("missing", [])), edit=True)
    if question.kind == QuestionKind.UPDATE and rows:
        reply = await _set_amounts(ctx, uow, lang, user_id, [(rows[0], item)], [])
        return replace(reply, edit=True)
    return Reply(None, lang, toast="stale")


# ---------------------------------------------------------------------------- the list


def _sections(rows: Sequence[ItemRow], lang: str | None, aisles: Sequence[str] = CATEGORIES
              ) -> list[tuple[str, list[tuple[int, str]]]]:
    by_category: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        category = row.category if row.category in CATEGORIES else "other"
        text = (label(row, lang) if lang else
                describe(row.name, row.quantity, row.unit, row.note))
        by_category.setdefault(category, []).append((row.id, text))
    return [(category, by_category[category]) for category in aisles
            if category in by_category]


async def list_reply(ctx: Context, uow: UnitOfWork, lang: str, edit: bool = False,
                     toast: str | None = None, private: bool | None = None) -> Reply:
    """The list grouped by shelf category, with a tick-off button per item.

    A group chat's list message is read by the whole family, so each line shows its
    author's words; in a private chat (one reader) a line written in another language also
    shows the reader's word for it. `private` None: only a personal list counts as private.
    """
    ctx = await on_list(ctx, uow)
    title = list_title(ctx)
    others = await other_lists(ctx, uow, lang)
    rows = await uow.items.open_items(ctx.group.id, list_id_of(ctx))
    if not rows:
        # The group's most frequent items, a press each (handlers/memory.py).
        empty = Reply("list_empty", lang, {"title": title}, edit=edit, toast=toast,
                      buttons=await quick_add_buttons(uow, ctx.group.id))
        return (replace(_compose([empty, others], empty.buttons, edit=edit), toast=toast)
                if others else empty)
    one_reader = private if private is not None else ctx.group.kind == GroupKind.PERSONAL
    sections = _sections(rows, lang if one_reader else None,
                         await aisle_order(uow, ctx.group.id))
    buttons: list[tuple[Button, ...]] = []
    row_buttons: list[Button] = []
    for _category, entries in sections:
        for item_id, text in entries:
            row_buttons.append(Button("btn_tick", encode(TickItem(item_id)), {"item": text}))
            if len(row_buttons) == 2:
                buttons.append(tuple(row_buttons))
                row_buttons = []
    if row_buttons:
        buttons.append(tuple(row_buttons))
    # Telegram caps inline keyboards at 100 buttons; the text still shows every item.
    shown = Reply("list", lang, {"title": title, "sections": sections, "count": len(rows)},
                  buttons=tuple(buttons[:48]), edit=edit, toast=toast)
    if others is None:
        return shown
    return replace(_compose([shown, others], shown.buttons, edit=edit), toast=toast)


async def handle_list_query(msg: Routed, uow: UnitOfWork) -> Reply:
    """Show the open items: of the list the message names ("what's on the pharmacy list?",
    without switching to it), else of the sender's current list."""
    ctx = await on_list(await resolve(msg.incoming, uow), uow)
    if msg.entities.list_name:
        ctx = await shown_list(ctx, uow, msg.entities.list_name)
    return await list_reply(ctx, uow, msg.lang,
                            private=msg.incoming.chat_kind is ChatKind.PRIVATE)


# ---------------------------------------------------------------------------- removing


async def _remove_rows(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                       rows: Sequence[ItemRow], missing: list[str],
                       edit: bool = False) -> Reply:
    changed = await uow.items.set_status([row.id for row in rows], ItemStatus.OPEN,
                                            ItemStatus.REMOVED)
    if not changed:
        return replace(Reply("not_on_list", lang, {"items": missing or
                                                   [row.name for row in rows]}), edit=edit)
    texts = [label(row, lang) for row in changed]
    undo = [_entry("status", row, describe(row.name, row.quantity, row.unit, row.note),
                   before=ItemStatus.OPEN, after=ItemStatus.REMOVED) for row in changed]
    action = await uow.items.record(ctx.group.id, user_id, ActionKind.REMOVE,
                                    [entry["label"] for entry in undo], undo,
                                    list_id=list_id_of(ctx))
    return Reply("removed", lang, {"items": texts, "missing": missing},
                 buttons=(_undo_button(action.id),), effects=_changed(ctx), edit=edit)


async def handle_remove_item(msg: Routed, uow: UnitOfWork) -> Reply:
    """Take named items off the list, unbought; a name that fits several lines is asked
    about ("milk" with both milk and soy milk listed)."""
    ctx = await on_list(await resolve(msg.incoming, uow), uow)
    if not msg.entities.items:
        return Reply("remove_what", msg.lang)
    named = await _match_named(ctx, uow, msg.entities.items, QuestionKind.REMOVE,
                               msg.incoming.user_id, msg.lang)
    if named.question is None and not named.found:
        return Reply("not_on_list", msg.lang, {"items": named.missing})
    done = (await _remove_rows(ctx, uow, msg.lang, msg.incoming.user_id, named.found,
                               named.missing) if named.found else None)
    return _answer_named(done, Reply("not_on_list", msg.lang, {"items": named.missing}), named)


@dataclass
class _Named:
    """Names said in a message, met with the open lines of the list."""
    found: list[ItemRow] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)   # item-like names on no line
    known: bool = False   # one of `missing` is a grocery the lexicon knows
    question: Reply | None = None   # the first name that fits several lines, asked about


async def _match_named(ctx: Context, uow: UnitOfWork, items: Sequence[Item],
                       kind: QuestionKind, user_id: int, lang: str) -> _Named:
    """Each named item's line; a name that fits several lines is asked about ("milk" with
    soy milk listed too), the first such name only."""
    rows = await uow.items.open_items(ctx.group.id, list_id_of(ctx))
    named = _Named()
    for parsed in items:
        item = wanted(parsed)
        if item is None:
            continue
        lines = [row for row in find_lines(rows, item) if row not in named.found]
        if not lines:
            if _is_item_like(parsed.name):
                named.missing.append(parsed.name)
                named.known = (named.known or item.known
                               or normalize(item.name) in _head_words())
        elif len(lines) == 1:
            named.found.append(lines[0])
        elif named.question is None:
            named.question = await _ask(ctx, uow, kind, item, lines, user_id, lang)
    return named


def _answer_named(done: Reply | None, not_listed: Reply, named: _Named) -> Reply:
    """What was done to the lines found (or that the rest are not on the list), with the
    question about an ambiguous name first among the buttons."""
    parts: list[Reply] = []
    buttons: list[tuple[Button, ...]] = []
    effects: tuple[Effect, ...] = ()
    if done is not None:
        parts.append(done)
        buttons.extend(done.buttons)
        effects = done.effects
    elif named.missing:
        parts.append(not_listed)
    if named.question is not None:
        parts.append(named.question)
        buttons = [*named.question.buttons, *buttons]
    return _compose(parts, buttons, effects)


# ---------------------------------------------------------------------------- buying


# Marking the whole list bought on a guess is the costliest mistake the model can make.
SURE_ENOUGH_TO_CLEAR = 0.9


def _needs_confirmation(msg: Routed) -> bool:
    """Forwarded or old messages, and a model that is not quite sure, ask before marking
    many items bought (a fresh command or a sure model acts at once, with Undo)."""
    if msg.confirmed:
        return False
    unsure = msg.source is Source.MODEL and msg.confidence < SURE_ENOUGH_TO_CLEAR
    # "I got a new phone": one thing bought, named, and no word for "everything"; the model
    # may still read a clear into it, so the list is not marked bought on that alone
    one_thing = msg.source is Source.MODEL and bought_items(msg.incoming.text) is not None
    return msg.incoming.forwarded or unsure or one_thing


async def _mark_bought(ctx: Context, uow: UnitOfWork, rows: Sequence[ItemRow], user_id: int,
                       kind: ActionKind) -> tuple[list[ItemRow], int | None]:
    changed = await uow.items.set_status([row.id for row in rows], ItemStatus.OPEN,
                                            ItemStatus.BOUGHT)
    if not changed:
        return [], None
    undo = [_entry("status", row, describe(row.name, row.quantity, row.unit, row.note),
                   before=ItemStatus.OPEN, after=ItemStatus.BOUGHT) for row in changed]
    action = await uow.items.record(ctx.group.id, user_id, kind,
                                    [entry["label"] for entry in undo], undo,
                                    list_id=list_id_of(ctx))
    return changed, action.id


async def handle_clear_list(msg: Routed, uow: UnitOfWork) -> Reply:
    """Everything was bought: mark every open item bought (undoable)."""
    ctx = await on_list(await resolve(msg.incoming, uow), uow)
    rows = await uow.items.open_items(ctx.group.id, list_id_of(ctx))
    if not rows:
        return Reply("list_empty", msg.lang, {"title": list_title(ctx)})
    if _needs_confirmation(msg):
        return Reply("confirm_clear", msg.lang, {"count": len(rows)},
                     buttons=((Button("btn_yes_clear", encode(ConfirmClear(partial=False)),
                                      role=Role.YES),
                               Button("btn_cancel", encode(Cancel()), role=Role.NO)),))
    changed, action_id = await _mark_bought(ctx, uow, rows, msg.incoming.user_id,
                                                ActionKind.CLEAR)
    if action_id is None:
        return Reply("list_empty", msg.lang, {"title": list_title(ctx)})
    return Reply("cleared", msg.lang, {"count": len(changed)},
                 buttons=(_undo_button(action_id),), effects=_changed(ctx))


async def _complete_except(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                           keep: set[int], newest: int | None, missing: list[str],
                           edit: bool = False) -> Reply:
    """Mark every open line bought but `keep` (and any added after line `newest`)."""
    rows = await uow.items.open_items(ctx.group.id, list_id_of(ctx))
    kept = [row for row in rows if row.id in keep]
    bought = [row for row in rows if row.id not in keep and (not newest or row.id <= newest)]
    changed, action_id = await _mark_bought(ctx, uow, bought, user_id, ActionKind.PARTIAL)
    parts: list[Reply] = []
    if kept:
        parts.append(Reply("partial_done", lang, {"count": len(changed),
                                                  "items": [label(r, lang) for r in kept]}))
    else:
        parts.append(Reply("cleared", lang, {"count": len(changed)}))
    if missing:
        parts.append(Reply("partial_missing", lang, {"items": missing}))
    buttons = [_undo_button(action_id)] if action_id is not None else []
    return _compose(parts, buttons, _changed(ctx) if changed else (), edit=edit)


async def handle_partial_completion(msg: Routed, uow: UnitOfWork) -> Reply:
    """Bought everything except the named items, which stay on the list. A named item that
    is not on the list does not stop the rest (the reply says so); a name that fits several
    lines is asked about first."""
    ctx = await on_list(await resolve(msg.incoming, uow), uow)
    rows = await uow.items.open_items(ctx.group.id, list_id_of(ctx))
    if not rows:
        return Reply("list_empty", msg.lang, {"title": list_title(ctx)})
    if not msg.entities.items:
        return Reply("partial_which", msg.lang)
    keep: list[ItemRow] = []
    missing: list[str] = []
    unsure: list[tuple[Wanted, list[ItemRow]]] = []
    for parsed in msg.entities.items:
        item = wanted(parsed)
        if item is None:
            continue
        lines = [row for row in find_lines(rows, item) if row not in keep]
        if not lines:
            if _is_item_like(parsed.name):
                missing.append(parsed.name)
        elif len(lines) == 1:
            keep.append(lines[0])
        else:
            unsure.append((item, lines))
    if not keep and not unsure and not missing:
        return Reply("partial_which", msg.lang)
    newest = max(row.id for row in rows)
    if unsure:
        item, lines = unsure[0]
        keep_ids = [row.id for row in keep] + [row.id for _i, more in unsure[1:]
                                               for row in more]
        return await _ask(ctx, uow, QuestionKind.KEEP, item, lines, msg.incoming.user_id, msg.lang,
                          keep=keep_ids, newest=newest, missing=missing)
    if _needs_confirmation(msg):
        return Reply("confirm_clear", msg.lang, {"count": len(rows) - len(keep)},
                     buttons=((Button("btn_yes_clear", encode(ConfirmClear(partial=True)),
                                      role=Role.YES),
                               Button("btn_cancel", encode(Cancel()), role=Role.NO)),))
    return await _complete_except(ctx, uow, msg.lang, msg.incoming.user_id,
                                  {row.id for row in keep}, newest, missing)


# ---------------------------------------------------------------------------- amounts


async def _set_amounts(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                       pairs: Sequence[tuple[ItemRow, Wanted]], to_add: Sequence[Item],
                       question: Reply | None = None) -> Reply:
    lines: list[str] = []
    undo: list[dict[str, Any]] = []
    for row, item in pairs:
        before, unit_before = row.quantity, row.unit
        changed = await uow.items.set_amount(row.id, item.quantity, item.unit or row.unit)
        if changed is None:
            continue
        text = describe(changed.name, changed.quantity, changed.unit, changed.note)
        lines.append(label(changed, lang))
        undo.append(_entry("set", changed, text, before=before, unit_before=unit_before,
                           after=changed.quantity, unit_after=changed.unit))
    summary = [entry["label"] for entry in undo]
    if to_add:
        added = await _add(ctx, uow, to_add, user_id, lang, ask=False)
        lines.extend(added.lines)
        summary.extend(added.summary)
        undo.extend(added.undo)
    parts: list[Reply] = []
    buttons: list[tuple[Button, ...]] = []
    effects: tuple[Effect, ...] = ()
    if undo:
        action = await uow.items.record(ctx.group.id, user_id, ActionKind.UPDATE, summary, undo,
                                    list_id=list_id_of(ctx))
        parts.append(Reply("updated", lang, {"items": lines}))
        buttons.append(_undo_button(action.id))
        effects = _changed(ctx)
    if question is not None:
        parts.append(question)
        buttons = [*question.buttons, *buttons]
    if not parts:
        return Reply("update_what", lang)
    return _compose(parts, buttons, effects)


async def handle_update_quantity(msg: Routed, uow: UnitOfWork) -> Reply:
    """Set the amount of items already on the list (adds the item when it is not there);
    the line of the very item named wins over lines that merely contain its name, and
    several such lines are asked about."""
    ctx = await on_list(await resolve(msg.incoming, uow), uow)
    items = [item for item in msg.entities.items if item.quantity is not None]
    if not items:
        return Reply("update_what", msg.lang)
    problem = _bad_items(items)
    if problem:
        return Reply(problem, msg.lang, {"limit": MAX_ITEMS, "max": int(MAX_QUANTITY)})
    rows = await uow.items.open_items(ctx.group.id, list_id_of(ctx))
    pairs: list[tuple[ItemRow, Wanted]] = []
    to_add: list[Item] = []
    question: Reply | None = None
    for parsed in items:
        item = wanted(parsed)
        if item is None:
            continue
        lines = find_lines(rows, item)
        exact = [row for row in lines if row.concept == item.concept]
        if len(exact) == 1 or len(lines) == 1:
            pairs.append((exact[0] if len(exact) == 1 else lines[0], item))
        elif not lines:
            to_add.append(parsed)
        elif question is None:
            question = await _ask(ctx, uow, QuestionKind.UPDATE, item, lines, msg.incoming.user_id,
                                  msg.lang)
    return await _set_amounts(ctx, uow, msg.lang, msg.incoming.user_id, pairs, to_add,
                              question)


# ---------------------------------------------------------------------------- undo


async def _take_back(ctx: Context, uow: UnitOfWork, entry: dict[str, Any],
                     since: Sequence[dict[str, Any]]) -> bool:
    """Apply the inverse of one line of a change; False when it cannot be done cleanly.

    `since` are the later changes to the same line. Adds commute with other adds, so their
    amounts are simply subtracted; a later amount set or a later tick makes a change
    impossible to take back without reverting someone else's, so it is refused.
    """
    if str(entry.get("op", "")).startswith("list_"):
        return await take_back_list(ctx, uow, entry)
    row = await uow.items.get(int(entry["id"]))
    if row is None or row.group_id != ctx.group.id:
        return False
    op = entry.get("op")
    if op in ("create", "add"):
        if row.status != ItemStatus.OPEN or any(e.get("op") in ("set", "status") for e in since):
            return False
        delta = entry.get("delta")
        if delta is None:
            # A line made without an amount: others may have given it one since, and then
            # it is theirs to keep.
            if row.quantity is not None:
                return False
            return bool(await uow.items.set_status([row.id], ItemStatus.OPEN, ItemStatus.REMOVED))
        return await uow.items.subtract(row.id, float(delta), op == "create") is not None
    if op == "set":
        if row.status != ItemStatus.OPEN or since or row.quantity != entry.get("after"):
            return False
        return await uow.items.set_amount(
            row.id, entry.get("before"), entry.get("unit_before")) is not None
    if op == "status":
        if row.status != entry.get("after"):
            return False
        # The line came back meanwhile (re-added): put this one's amount on it, so the list
        # never holds the same thing twice.
        for _attempt in range(2):
            there = await uow.items.open_line(ctx.group.id, row.concept, row.unit,
                                              row.note_key, row.list_id)
            if there is not None:
                if row.quantity is not None:
                    await uow.items.add_amount(there.id, row.quantity)
                return True
            if await uow.items.reopen(row.id, ItemStatus(str(entry["after"]))) is not None:
                return True
        return False
    return False


async def _restore_snapshot(ctx: Context, uow: UnitOfWork, snapshot: dict[str, Any]) -> bool:
    # Changes recorded before inverses existed kept a snapshot of each line.
    row = await uow.items.get(int(snapshot["id"]))
    if row is None or row.group_id != ctx.group.id:
        return False
    row.status = snapshot["status"]
    row.quantity = snapshot["quantity"]
    row.unit = snapshot["unit"]
    row.updated_at = utcnow()
    return True


async def handle_undo_command(incoming: Incoming, uow: UnitOfWork, lang: str,
                              _admin: bool | None) -> Reply:
    """`/undo`, or undo in words: take back the sender's last change."""
    ctx = await resolve(incoming, uow)
    return await undo_action(ctx, uow, lang, incoming.user_id, None)


async def undo_action(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                      action_id: int | None) -> Reply:
    """Take back one change (the button's, or the sender's last): exactly what it did, and
    never what anyone did after it. What cannot be taken back cleanly is named."""
    action = (await uow.items.action(action_id) if action_id is not None
              else await uow.items.last_undoable(ctx.group.id, user_id))
    if action is None or action.group_id != ctx.group.id:
        return Reply("nothing_to_undo", lang)
    ctx = await on_list(ctx, uow, action.list_id)
    if action.undone_at is not None:
        return Reply("already_undone", lang)
    if not action.undo:
        # A change that touched no line (a recipe add of things already listed).
        action.undone_at = utcnow()
        return Reply("nothing_to_undo", lang)
    later: dict[int, list[dict[str, Any]]] = {}
    for change in await uow.items.changes_after(ctx.group.id, action.id):
        for entry in change.undo:
            if isinstance(entry, dict) and "id" in entry:
                later.setdefault(int(entry["id"]), []).append(entry)
    done: list[str] = []
    failed: list[str] = []
    for entry in action.undo:
        if "op" not in entry:
            if await _restore_snapshot(ctx, uow, entry):
                done = list(action.summary)
            continue
        ok = await _take_back(ctx, uow, entry, later.get(int(entry.get("id", -1)), []))
        (done if ok else failed).append(entry_label(entry, lang))
    # Even a change that could not be taken back is settled: the next undo goes further back.
    action.undone_at = utcnow()
    await uow.items.record(ctx.group.id, user_id, ActionKind.UNDO, done, [],
                                    list_id=list_id_of(ctx))
    effects = _changed(ctx) if done else ()
    if failed and done:
        return Reply("undone_partly", lang, {"items": done, "failed": failed},
                     effects=effects)
    if failed:
        return Reply("cannot_undo", lang, {"items": failed})
    return Reply("undone", lang, {"items": done}, effects=effects)


# ---------------------------------------------------------------------------- ticking


async def tick_item(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                    item_id: int, private: bool | None = None) -> Reply:
    """A tick on the list message: mark one item bought and redraw the list in place."""
    row = await uow.items.get(item_id)
    if row is None or row.group_id != ctx.group.id:
        return Reply(None, lang, toast="stale")
    ctx = await on_list(ctx, uow, row.list_id)
    await _mark_bought(ctx, uow, [row], user_id, ActionKind.TICK)
    reply = await list_reply(ctx, uow, lang, edit=True, toast=row.name, private=private)
    return replace(reply, effects=_changed(ctx), edit=True, toast=row.name)


@cache
def _head_words() -> frozenset[str]:
    """The end words of the lexicon's compound names ("cheese" of "white cheese", Hebrew
    "cheese" of "cheese white"): groceries, though no line of the lexicon of their own."""
    return frozenset(words[index] for entry in lexicon().entries
                     if len(words := normalize(entry.name).split()) > 1 for index in (0, -1))


async def _tick_rows(ctx: Context, uow: UnitOfWork, lang: str, user_id: int,
                     rows: Sequence[ItemRow], missing: list[str], edit: bool = False) -> Reply:
    """Tick lines named in words: one change, as the tick button records it (one Undo)."""
    changed, action_id = await _mark_bought(ctx, uow, rows, user_id, ActionKind.TICK)
    if action_id is None:
        return replace(Reply("not_on_list", lang, {"items": missing or
                                                   [row.name for row in rows]}), edit=edit)
    return Reply("ticked", lang, {"items": [label(row, lang) for row in changed],
                                  "missing": missing},
                 buttons=(_undo_button(action_id),), effects=_changed(ctx), edit=edit)


async def tick_named(incoming: Incoming, uow: UnitOfWork, lang: str, items: Sequence[Item],
                     quiet: bool = False) -> Reply | None:
    """"Bought milk and eggs" in words (router.dialogue.items_bought): tick each named open
    line as the tick button does. A name that fits several lines is asked about ("milk" with
    soy milk listed too); a named item not on the list is said so, and nothing is added.

    None when the words meet no line and name no grocery ("got a new phone"), or meet
    no line at all when `quiet` (family talk in a group the bot was not addressed in):
    the model reads them as before.
    """
    ctx = await on_list(await resolve(incoming, uow), uow)
    named = await _match_named(ctx, uow, items, QuestionKind.BOUGHT, incoming.user_id, lang)
    if not named.found and named.question is None:
        if quiet or not named.known:
            return None
        return Reply("bought_not_listed", lang, {"items": named.missing})
    done = (await _tick_rows(ctx, uow, lang, incoming.user_id, named.found, named.missing)
            if named.found else None)
    return _answer_named(done, Reply("bought_not_listed", lang, {"items": named.missing}),
                         named)
