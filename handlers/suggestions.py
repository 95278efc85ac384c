"""Suggestions from habit: an item the group buys on a steady rhythm is offered when due
("milk is bought about every 4 days — add it?" with an Add button), `/suggestions off|on`.

**The rhythm rule.** A group's purchases of one concept over the last `LOOKBACK` (180) days,
purchases less than `SAME_PURCHASE` (12 hours) apart counted once. With at least
`MIN_PURCHASES` (3) purchases, the rhythm is the median of the last `INTERVALS` (up to 5)
intervals between them, if it is between 1 and 60 days and every one of those intervals is
within 40% of it (at least a day either way); otherwise the item has no rhythm.

**When it is suggested.** When the median has passed since the last purchase, the item is not
open on the list, and it was not suggested in this cycle (a cycle is the time since the last
purchase: one `suggestions` row per group, concept and purchase, so once per item per cycle
whichever process looks). A habit left for more than twice its rhythm is over and is not
suggested. Nothing is sent between 21:00 and 09:00 in the group's time zone: what falls due
at night waits for the morning. At most `PER_LOOK` (3) items are offered at one look.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from db.history import (
    already_suggested,
    events,
    open_concepts,
    private_chats,
    record_suggestion,
    suggestion,
)
from db.store import UnitOfWork
from handlers.buttons import AddSuggested, Cancel, encode
from handlers.common import Context, resolve
from handlers.items import handle_grocery_request
from handlers.reply import Button, Reply, Role
from router.lexicon import lexicon
from router.normalize import detect_language
from router.types import Entities, Incoming, Intent, Item, Routed, Source

__all__ = ["Habit", "add_suggested", "collect_suggestions", "habits",
           "handle_suggestions_command", "quick_add", "rhythm"]

LOOKBACK = timedelta(days=180)
SAME_PURCHASE = timedelta(hours=12)
MIN_PURCHASES = 3
INTERVALS = 5
SPREAD = 0.4
MIN_DAYS, MAX_DAYS = 1.0, 60.0
PER_LOOK = 3
# Without anything due, a group's habits are looked at again at most this much later (a new
# rhythm can form with any purchase).
RECHECK = timedelta(days=1)
MORNING, EVENING = 9, 21


@dataclass(frozen=True, slots=True)
class Habit:
    """An item bought on a rhythm: every `days` days, last at `last` (change `cycle`)."""

    concept: str
    name: str
    item_id: int
    days: float
    last: datetime
    cycle: int

    @property
    def due(self) -> datetime:
        return self.last + timedelta(days=self.days)


def rhythm(moments: list[datetime]) -> float | None:
    """The rhythm in days of purchases at these moments (oldest first); None without one."""
    merged: list[datetime] = []
    for moment in moments:
        if not merged or moment - merged[-1] >= SAME_PURCHASE:
            merged.append(moment)
    if len(merged) < MIN_PURCHASES:
        return None
    gaps = [(b - a).total_seconds() / 86400 for a, b in pairwise(merged)]
    gaps = gaps[-INTERVALS:]
    median = statistics.median(gaps)
    if not MIN_DAYS <= median <= MAX_DAYS:
        return None
    allowed = max(SPREAD * median, 1.0)
    if any(abs(gap - median) > allowed for gap in gaps):
        return None
    return median


async def habits(uow: UnitOfWork, group_id: int, now: datetime) -> list[Habit]:
    """The group's items with a rhythm (the module's rule)."""
    bought = await events(uow.session, group_id, now - LOOKBACK, kinds=("tick", "clear",
                                                                         "partial"))
    by_concept: dict[str, list[tuple[datetime, int, int, str]]] = {}
    for event in bought:
        by_concept.setdefault(event.concept, []).append(
            (event.at, event.action_id, event.item_id, event.name))
    out: list[Habit] = []
    for concept, seen in by_concept.items():
        days = rhythm([at for at, *_rest in seen])
        if days is not None:
            at, action_id, item_id, name = seen[-1]
            out.append(Habit(concept, name, item_id, days, at, action_id))
    return out


def _daytime(moment: datetime, zone: ZoneInfo) -> datetime:
    """The moment, or the next morning's `MORNING` o'clock when it falls at night."""
    local = moment.astimezone(zone)
    if MORNING <= local.hour < EVENING:
        return moment
    day = local.date() if local.hour < MORNING else local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, MORNING, tzinfo=zone).astimezone(moment.tzinfo)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Asia/Jerusalem")
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Jerusalem")


async def _language(uow: UnitOfWork, group_language: str | None, user_id: int) -> str:
    user = await uow.groups.user(user_id)
    return (group_language or (user.language or user.last_language if user else None)
            or "he")


async def collect_suggestions(uow: UnitOfWork, group_id: int,
                              now: datetime) -> list[tuple[int, Reply]]:
    """The suggestions due in a claimed group now, as (chat id, reply); records them and
    sets the group's next look in the same transaction."""
    group = await uow.groups.get(group_id)
    if group is None:
        return []
    zone = _zone(group.timezone)
    if not group.suggestions:
        group.suggest_due_at = None
        return []
    listed = await open_concepts(uow.session, group_id)
    due: list[Habit] = []
    following = now + RECHECK
    for habit in await habits(uow, group_id, now):
        if habit.concept in listed:
            continue
        if habit.due > now:
            following = min(following, habit.due)
        elif now - habit.last <= timedelta(days=2 * habit.days) and not \
                await already_suggested(uow.session, group_id, habit.concept, habit.cycle):
            due.append(habit)
    if due and _daytime(now, zone) != now:
        group.suggest_due_at = _daytime(now, zone)
        return []
    if len(due) > PER_LOOK:
        following = now + timedelta(hours=1)
    group.suggest_due_at = _daytime(following, zone)
    chats = [chat.chat_id for chat in await uow.groups.group_chats(group_id)]
    if not chats:
        chats = [chat.chat_id for chat in await private_chats(uow.session, group_id)]
    if not chats:
        return []  # nobody to tell: the cycle's one suggestion is not spent
    out: list[tuple[int, Reply]] = []
    for habit in sorted(due, key=lambda h: h.due)[:PER_LOOK]:
        suggestion_id = await record_suggestion(uow.session, group_id, habit.concept,
                                                habit.cycle, habit.name, habit.days, now)
        if suggestion_id is None:
            continue
        for chat_id in chats:
            # A private chat's id is its user's; a group chat reads the group's language,
            # else the language the item was written in.
            lang = (await _language(uow, None, chat_id) if chat_id > 0 else
                    group.language or detect_language(habit.name))
            name = lexicon().word(habit.concept, lang) or habit.name
            out.append((chat_id, Reply(
                "suggest_item", lang, {"item": name, "count": round(habit.days)},
                buttons=((Button("btn_suggest_add", encode(AddSuggested(suggestion_id)),
                                 {"item": name}, role=Role.YES),
                          Button("btn_suggest_skip", encode(Cancel()), role=Role.NO)),))))
    return out


async def handle_suggestions_command(incoming: Incoming, uow: UnitOfWork, lang: str,
                                     _admin: bool | None) -> Reply:
    """`/suggestions off|on` for the whole group; without an argument, the state."""
    ctx = await resolve(incoming, uow)
    choice = incoming.text.partition(" ")[2].strip().lower()
    if choice in ("on", "off"):
        ctx.group.suggestions = choice == "on"
        # Turned on: the habits are looked at on the next tick.
        ctx.group.suggest_due_at = None
        return Reply(f"suggestions_{choice}", lang, {"title": ctx.group.title})
    return Reply("suggestions_status_on" if ctx.group.suggestions else "suggestions_status_off",
                 lang, {"title": ctx.group.title})


async def _add(ctx: Context, incoming: Incoming, uow: UnitOfWork, lang: str,
               name: str) -> Reply:
    routed = Routed(incoming, (Intent.GROCERY_REQUEST,), (Entities(items=(Item(name),)),), 1.0,
                    True, Source.USER, lang)
    return await handle_grocery_request(routed, uow)


async def add_suggested(ctx: Context, incoming: Incoming, uow: UnitOfWork, lang: str,
                        suggestion_id: int) -> Reply:
    """A suggestion's Add: the suggested item goes on the list, and the suggestion message
    becomes the answer."""
    made = await suggestion(uow.session, suggestion_id)
    if made is None or made.group_id != ctx.group.id:
        return Reply(None, lang, toast="stale")
    return replace(await _add(ctx, incoming, uow, lang, made.name), edit=True)


async def quick_add(ctx: Context, incoming: Incoming, uow: UnitOfWork, lang: str,
                    item_id: int) -> Reply:
    """An empty list's quick add: that line's item again, without its amount."""
    row = await uow.items.get(item_id)
    if row is None or row.group_id != ctx.group.id:
        return Reply(None, lang, toast="stale")
    return await _add(ctx, incoming, uow, lang, row.name)
