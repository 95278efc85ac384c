"""Undo takes back exactly the undone change and never anyone's later change (issue 10).

Handlers are called directly on a real SQLite file (tests/conftest.py).
"""

from __future__ import annotations

from db.store import UnitOfWorkFactory
from handlers.common import resolve
from handlers.i18n import render
from handlers.items import tick_item, undo_action
from handlers.reply import Reply
from router.types import Intent
from tests.support.direct import DANA, SAMIR, YOSSI, handle, message, open_items, routed


async def undo(uow: UnitOfWorkFactory, user_id: int, lang: str = "en",
               action_id: int | None = None) -> Reply:
    async with uow() as unit:
        ctx = await resolve(message("x", user_id=user_id), unit)
        reply = await undo_action(ctx, unit, lang, user_id, action_id)
        await unit.commit()
    return reply


def undo_id(reply: Reply) -> int:
    [data] = [b.data for row in reply.buttons for b in row if b.data.startswith("u:")]
    return int(data.split(":")[1])


async def test_undoing_my_add_leaves_the_amount_someone_added_after_me(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add 2 milk", Intent.GROCERY_REQUEST))
    await handle(uow, routed("add 3 milk", Intent.GROCERY_REQUEST, user_id=YOSSI))
    reply = await undo(uow, DANA)
    assert reply.key == "undone" and "2 milk" in render(reply)
    assert await open_items(uow) == [("milk", 3.0, None)]


async def test_undoing_the_later_add_goes_back_to_the_first_amount(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add 2 milk", Intent.GROCERY_REQUEST))
    await handle(uow, routed("add 3 milk", Intent.GROCERY_REQUEST, user_id=YOSSI))
    await undo(uow, YOSSI)
    assert await open_items(uow) == [("milk", 2.0, None)]
    await undo(uow, DANA)
    assert await open_items(uow) == []


async def test_undoing_an_amount_added_to_a_line_without_one_leaves_the_line(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add eggs", Intent.GROCERY_REQUEST))
    await handle(uow, routed("add 6 eggs", Intent.GROCERY_REQUEST, user_id=YOSSI))
    await undo(uow, YOSSI)
    assert await open_items(uow) == [("eggs", None, None)]


async def test_undoing_a_line_someone_has_since_given_an_amount_says_it_cannot(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add eggs", Intent.GROCERY_REQUEST))
    await handle(uow, routed("תוסיף 6 ביצים", Intent.GROCERY_REQUEST, user_id=YOSSI))
    reply = await undo(uow, DANA, "he")
    assert reply.key == "cannot_undo"
    assert "eggs" in render(reply) and "לא שיניתי כלום" in render(reply)
    assert await open_items(uow) == [("eggs", 6.0, None)]
    # It is settled: Dana's next undo has nothing older to take back.
    assert (await undo(uow, DANA)).key == "nothing_to_undo"


async def test_undoing_a_removal_after_the_item_was_added_again_leaves_one_line(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add 2 milk, bread", Intent.GROCERY_REQUEST))
    removed = await handle(uow, routed("remove the milk", Intent.REMOVE_ITEM))
    await handle(uow, routed("بدنا حليب", Intent.GROCERY_REQUEST, user_id=SAMIR))
    reply = await undo(uow, DANA, action_id=undo_id(removed))
    assert reply.key == "undone"
    assert await open_items(uow) == [("bread", None, None), ("حليب", 2.0, None)]


async def test_undoing_a_clear_after_an_item_came_back_adds_the_amounts_to_it(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("2 חלב ולחם", Intent.GROCERY_REQUEST))
    cleared = await handle(uow, routed("/clear", Intent.CLEAR_LIST))
    await handle(uow, routed("3 חלב", Intent.GROCERY_REQUEST, user_id=YOSSI))
    await undo(uow, DANA, action_id=undo_id(cleared))
    assert sorted(await open_items(uow), key=str) == [("חלב", 5.0, None), ("לחם", None, None)]


async def test_undo_takes_back_what_it_can_and_names_what_it_cannot(
        uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("milk and bread", Intent.GROCERY_REQUEST))
    rows = await open_items(uow)
    assert [name for name, _q, _u in rows] == ["milk", "bread"]
    async with uow() as unit:
        ctx = await resolve(message("x", user_id=YOSSI), unit)
        group_items = await unit.items.open_items(ctx.group.id)
        await tick_item(ctx, unit, "en", YOSSI, group_items[1].id)
        await unit.commit()
    undone = await undo(uow, DANA, action_id=undo_id(reply))
    assert undone.key == "undone_partly"
    assert render(undone) == ("↩️ Undone: milk. Not undone, because it changed since: bread")
    assert await open_items(uow) == []


async def test_undoing_an_amount_change_is_refused_after_a_later_add(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("2 milk", Intent.GROCERY_REQUEST))
    changed = await handle(uow, routed("actually 5 milk", Intent.UPDATE_QUANTITY))
    assert await open_items(uow) == [("milk", 5.0, None)]
    await handle(uow, routed("1 more milk", Intent.GROCERY_REQUEST, user_id=YOSSI))
    reply = await undo(uow, DANA, action_id=undo_id(changed))
    assert reply.key == "cannot_undo"
    assert await open_items(uow) == [("milk", 6.0, None)]


async def test_undoing_an_amount_change_restores_the_amount(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("2 חלב", Intent.GROCERY_REQUEST))
    await handle(uow, routed("בעצם 3 חלב, לא 2", Intent.UPDATE_QUANTITY))
    await undo(uow, DANA)
    assert await open_items(uow) == [("חלב", 2.0, None)]


async def test_an_undo_is_done_once(uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("milk", Intent.GROCERY_REQUEST))
    await undo(uow, DANA, action_id=undo_id(reply))
    again = await undo(uow, DANA, action_id=undo_id(reply))
    assert again.key == "already_undone"
    assert await open_items(uow) == []
