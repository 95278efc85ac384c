"""Questions over the list's history: who added an item, when it was last bought, what was
bought in a period ("who added the milk?", "when did we last buy coffee?", the same in
Hebrew, Arabic and Russian; `/history [item]`).

Answers come from the recorded changes (db/history.py), the item matched by concept as the
list matches it (the Arabic word for milk finds the Hebrew line), times told in the group's
time zone as a reader says them: today 14:05, yesterday 09:30, 3 days ago (28.11).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from db.history import ADDS, BUYS, REMOVES, events
from db.store import UnitOfWork, utcnow
from handlers.common import resolve
from handlers.i18n import plain
from handlers.matching import fuzzy_concept, wanted
from handlers.reply import Reply
from router.history import history_entities
from router.lexicon import lexicon
from router.types import Entities, Incoming, Intent, Item, Routed, Source

__all__ = ["handle_history_command", "handle_history_query", "period_start", "when"]

# A question without a period asks about this far back.
DEFAULT_PERIOD = "week"
# A list of purchases names at most this many items (the most often bought first).
MAX_LISTED = 30


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Asia/Jerusalem")
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Jerusalem")


def when(moment: datetime, now: datetime, tz: str | None, lang: str) -> str:
    """A past moment as a reader says it, in the group's time zone: "today 14:05",
    "yesterday 09:30", "3 days ago (28.11)"."""
    zone = _zone(tz)
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    days = (today - local.date()).days
    if days <= 0:
        return plain("history_today", lang, time=local.strftime("%H:%M"))
    if days == 1:
        return plain("history_yesterday", lang, time=local.strftime("%H:%M"))
    date = local.strftime("%d.%m" if local.year == today.year else "%d.%m.%Y")
    return plain("history_days_ago", lang, count=days, date=date)


def period_start(period: str, now: datetime, tz: str | None) -> tuple[datetime, datetime]:
    """The period's [start, end) in UTC: local midnights for today and yesterday, the last
    7 or 30 days for a week and a month."""
    zone = _zone(tz)
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return midnight, now + timedelta(seconds=1)
    if period == "yesterday":
        return midnight - timedelta(days=1), midnight
    days = 30 if period == "month" else 7
    return midnight - timedelta(days=days - 1), now + timedelta(seconds=1)


async def _name(uow: UnitOfWork, user_id: int) -> str:
    user = await uow.groups.user(user_id)
    return user.display_name if user is not None else str(user_id)


def _shown(concept: str, written: str, lang: str) -> str:
    """An item as the reader calls it: their own word for a known item, else its words."""
    return lexicon().word(concept, lang) or written


async def handle_history_query(msg: Routed, uow: UnitOfWork) -> Reply:
    """HISTORY_QUERY with `item` and `period`: an item's last add and purchase, or what was
    bought in a period (the last 7 days when none is named)."""
    ctx = await resolve(msg.incoming, uow)
    lang, tz, now = msg.lang, ctx.group.timezone, utcnow()
    item, period = msg.entities.item, msg.entities.period
    since, until = period_start(period, now, tz) if period else (None, None)
    if item:
        asked = wanted(Item(item))
        if asked is None:
            return Reply("history_nothing", lang, {"item": item})
        kinds = (*ADDS, *BUYS, *REMOVES)
        found = await events(uow.session, ctx.group.id, since, until, kinds=kinds,
                             concepts=[asked.concept])
        if not found and not asked.known:
            # "who deleted the suger?": a misspelt name finds the line it is close to
            every = await events(uow.session, ctx.group.id, since, until, kinds=kinds)
            close = fuzzy_concept(asked, [(event.name, event.concept) for event in every])
            found = [event for event in every if close is not None and event.concept == close]
        shown = _shown(asked.concept, found[-1].name if found else item, lang)
        added = [event for event in found if event.kind == "added"]
        bought = [event for event in found if event.kind == "bought"]
        if not found:
            return Reply("history_nothing", lang, {"item": shown})
        lines: list[Reply] = []
        if added:
            lines.append(Reply("history_added", lang, {
                "item": shown, "user": await _name(uow, added[-1].user_id),
                "when": when(added[-1].at, now, tz, lang)}))
        if bought:
            lines.append(Reply("history_bought", lang, {
                "item": shown, "user": await _name(uow, bought[-1].user_id),
                "when": when(bought[-1].at, now, tz, lang), "count": len(bought)}))
        else:
            lines.append(Reply("history_not_bought", lang, {"item": shown}))
        removed = [event for event in found if event.kind == "removed"]
        if removed and (not added or removed[-1].at >= added[-1].at):
            # "who deleted the sugar?": the last removal, when nothing was added after it
            lines.append(Reply("history_removed", lang, {
                "item": shown, "user": await _name(uow, removed[-1].user_id),
                "when": when(removed[-1].at, now, tz, lang)}))
        last = lines[-1]
        return last.preceded_by(*lines[:-1])
    period = period or DEFAULT_PERIOD
    since, until = period_start(period, now, tz)
    bought_events = await events(uow.session, ctx.group.id, since, until, kinds=("tick", "clear",
                                                                                  "partial"))
    counts: dict[str, tuple[int, str]] = {}
    for event in bought_events:
        times, name = counts.get(event.concept, (0, event.name))
        counts[event.concept] = (times + 1, name)
    span = plain(f"history_period.{period}", lang)
    if not counts:
        return Reply("history_none_bought", lang, {"period": span})
    ranked = sorted(counts.items(), key=lambda pair: -pair[1][0])[:MAX_LISTED]
    items = [_shown(concept, name, lang) + (f" ×{times}" if times > 1 else "")
             for concept, (times, name) in ranked]
    return Reply("history_bought_list", lang, {"period": span, "items": items,
                                               "count": len(counts)})


async def handle_history_command(incoming: Incoming, uow: UnitOfWork, lang: str,
                                 _admin: bool | None) -> Reply:
    """`/history [item or period]`: the same answers before the model knows the words."""
    args = incoming.text.partition(" ")[2] if incoming.text.startswith("/") else incoming.text
    item, period = history_entities(args)
    routed = Routed(incoming, (Intent.HISTORY_QUERY,), (Entities(item=item, period=period),),
                    1.0, True, Source.RULE, lang, reason="/history")
    return await handle_history_query(routed, uow)
