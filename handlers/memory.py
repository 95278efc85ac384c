"""What a group's own history teaches the list: the aisle order of its store and the items
it adds most often.

**Aisle order.** Ticks on the list in the store are one shopping trip while they follow each
other by at most `TRIP_GAP` (45 minutes). In each trip of at least `MIN_TRIP_TICKS` (3) ticks
over two or more categories, each category gets its place by its first tick, scaled to 0..1
(first 0, last 1). A category's learned place is its mean place over the trips of the last
`LOOKBACK` (90) days it appears in, once it appears in `MIN_TRIPS` (2) of them; the list's
sections are shown in that order, and a category without enough data keeps its place in the
default category order (scaled the same way), so learned and default categories interleave.
With fewer than `MIN_TRIPS` such trips the default category order is used unchanged.

**Quick adds.** An empty list offers a button for each of the group's `QUICK_ADDS` (4) most
often added items of the last `LOOKBACK` days.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from db.history import events
from db.store import UnitOfWork, utcnow
from handlers.buttons import QuickAdd, encode
from handlers.reply import Button
from router.lexicon import CATEGORIES, lexicon

__all__ = ["LOOKBACK", "aisle_order", "quick_add_buttons", "trips"]

TRIP_GAP = timedelta(minutes=45)
MIN_TRIP_TICKS = 3
MIN_TRIPS = 2
LOOKBACK = timedelta(days=90)
QUICK_ADDS = 4


def _category(concept: str) -> str:
    category = lexicon().concept_category(concept)
    return category if category in CATEGORIES else "other"


async def trips(uow: UnitOfWork, group_id: int) -> list[list[str]]:
    """The group's shopping trips, each the categories in the order first ticked."""
    ticks = [event for event in await events(uow.session, group_id, utcnow() - LOOKBACK,
                                             kinds=("tick",))]
    out: list[list[str]] = []
    current: list[str] = []
    count = 0
    last = None
    for event in ticks:
        if last is not None and event.at - last > TRIP_GAP:
            if count >= MIN_TRIP_TICKS and len(current) >= 2:
                out.append(current)
            current, count = [], 0
        last = event.at
        count += 1
        category = _category(event.concept)
        if category not in current:
            current.append(category)
    if count >= MIN_TRIP_TICKS and len(current) >= 2:
        out.append(current)
    return out


async def aisle_order(uow: UnitOfWork, group_id: int) -> tuple[str, ...]:
    """The categories in the order this group walks its store (the module's rule)."""
    learned = await trips(uow, group_id)
    if len(learned) < MIN_TRIPS:
        return CATEGORIES
    places: dict[str, list[float]] = {}
    for trip in learned:
        for index, category in enumerate(trip):
            places.setdefault(category, []).append(index / (len(trip) - 1))
    last = len(CATEGORIES) - 1

    def place(category: str) -> tuple[float, int]:
        seen = places.get(category, [])
        default = CATEGORIES.index(category) / last
        return (sum(seen) / len(seen) if len(seen) >= MIN_TRIPS else default,
                CATEGORIES.index(category))

    return tuple(sorted(CATEGORIES, key=place))


async def quick_add_buttons(uow: UnitOfWork, group_id: int) -> tuple[tuple[Button, ...], ...]:
    """Buttons for the items this group adds most often, two to a row (none without
    history)."""
    added = await events(uow.session, group_id, utcnow() - LOOKBACK, kinds=("add",))
    counts = Counter(event.concept for event in added)
    latest = {event.concept: event for event in added}
    buttons = [Button("btn_quick_add", encode(QuickAdd(latest[concept].item_id)),
                      {"item": latest[concept].name})
               for concept, _count in counts.most_common(QUICK_ADDS)]
    return tuple(tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2))
