"""The list handlers on a real SQLite file, in Hebrew, English and Arabic."""

from __future__ import annotations

from db.store import UnitOfWorkFactory
from handlers.common import resolve
from handlers.i18n import render
from handlers.items import tick_item, undo_action
from router.types import Intent
from tests.support.direct import YOSSI, handle, message, open_items, routed


async def test_adding_hebrew_items_puts_each_on_the_list(uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("תוסיף חלב וביצים", Intent.GROCERY_REQUEST))
    assert await open_items(uow) == [("חלב", None, None), ("ביצים", None, None)]
    assert reply.lang == "he"
    assert "חלב" in render(reply) and "ביצים" in render(reply)


async def test_same_item_twice_merges_quantities(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("2 חלב", Intent.GROCERY_REQUEST))
    await handle(uow, routed("עוד 3 חלב", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert await open_items(uow) == [("חלב", 5.0, None)]


async def test_quantities_merge_only_when_units_agree(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("need 2 kg tomatoes", Intent.GROCERY_REQUEST))
    await handle(uow, routed("add 3 tomatoes", Intent.GROCERY_REQUEST))
    await handle(uow, routed("1 kg tomatoes", Intent.GROCERY_REQUEST))
    assert sorted(await open_items(uow), key=str) == sorted(
        [("tomatoes", 3.0, "kg"), ("tomatoes", 3.0, None)], key=str)


async def test_arabic_request_with_arabic_indic_digits_and_half(uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("بدنا نص كيلو جبنة و٣ خبز", Intent.GROCERY_REQUEST))
    items = await open_items(uow)
    assert ("جبنة", 0.5, "كيلو") in items
    assert ("خبز", 3.0, None) in items
    assert reply.lang == "ar"


async def test_spelling_variants_merge_into_one_item(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("עגבניה", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("עגבניות", Intent.GROCERY_REQUEST, user_id=YOSSI))
    # Two people asking for tomatoes without amounts is one need, not two tomatoes; the line
    # keeps the words of whoever wrote it first.
    assert await open_items(uow) == [("עגבניה", None, None)]
    assert reply.key == "already_listed" and "Dana" in render(reply)


async def test_absurd_quantity_is_refused_and_changes_nothing(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("2 חלב", Intent.GROCERY_REQUEST))
    for text in ("1000000000 חלב", "0 חלב"):
        reply = await handle(uow, routed(text, Intent.GROCERY_REQUEST))
        assert reply.key == "absurd_quantity"
        assert "1000" in render(reply)
    reply = await handle(uow, routed("בעצם 5000 חלב", Intent.UPDATE_QUANTITY))
    assert reply.key == "absurd_quantity"
    assert await open_items(uow) == [("חלב", 2.0, None)]


async def test_more_than_a_hundred_items_are_refused(uow: UnitOfWorkFactory) -> None:
    text = ", ".join(f"פריט{i}" for i in range(150))
    reply = await handle(uow, routed(text, Intent.GROCERY_REQUEST))
    assert reply.key == "too_many_items"
    async with uow() as unit:
        group = await unit.groups.group_of_chat(-100200300)
        assert group is None or await unit.items.count_open(group.id) == 0


async def test_invisible_characters_never_reach_stored_names(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("\u200fחָלָב\u200b", Intent.GROCERY_REQUEST))
    assert await open_items(uow) == [("חלב", None, None)]


async def test_remove_takes_the_named_item_off_and_keeps_the_rest(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("חלב, ביצים ולחם", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("תוריד את הביצים", Intent.REMOVE_ITEM))
    assert reply.key == "removed"
    assert [name for name, _q, _u in await open_items(uow)] == ["חלב", "לחם"]


async def test_removing_an_item_not_on_the_list_says_so(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("milk", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("remove the bananas", Intent.REMOVE_ITEM))
    assert reply.key == "not_on_list"
    assert "bananas" in render(reply)
    assert await open_items(uow) == [("milk", None, None)]


async def test_bought_everything_except_leaves_exactly_those(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("חלב, ביצים, עגבניות ולחם", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("קנינו הכל חוץ מהעגבניות", Intent.PARTIAL_COMPLETION))
    assert reply.key == "partial_done"
    assert [name for name, _q, _u in await open_items(uow)] == ["עגבניות"]


async def test_all_but_an_item_not_on_the_list_buys_the_rest_and_says_so(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("bread and eggs", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("got everything but the caviar", Intent.PARTIAL_COMPLETION))
    text = render(reply)
    assert "Marked 2 items as bought" in text and "not on the list: caviar" in text
    assert await open_items(uow) == []


async def test_clear_marks_everything_bought_and_undo_brings_it_back(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("بدنا خبز وحليب", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("اشترينا كل شي", Intent.CLEAR_LIST))
    assert reply.key == "cleared"
    assert await open_items(uow) == []
    undo_data = reply.buttons[0][0].data
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        undone = await undo_action(ctx, unit, "ar", 11, int(undo_data.split(":")[1]))
        await unit.commit()
    assert undone.key == "undone"
    assert [name for name, _q, _u in await open_items(uow)] == ["خبز", "حليب"]


async def test_forwarded_clear_asks_before_touching_the_list(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("milk", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("done shopping", Intent.CLEAR_LIST, forwarded=True))
    assert reply.key == "confirm_clear"
    assert await open_items(uow) == [("milk", None, None)]


async def test_update_quantity_sets_rather_than_adds(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("2 חלב", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("בעצם 3 חלב, לא 2", Intent.UPDATE_QUANTITY))
    assert reply.key == "updated"
    assert await open_items(uow) == [("חלב", 3.0, None)]


async def test_update_quantity_in_english_with_a_unit(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("eggs", Intent.GROCERY_REQUEST))
    await handle(uow, routed("make the eggs 2 cartons", Intent.UPDATE_QUANTITY))
    assert await open_items(uow) == [("eggs", 2.0, "carton")]


async def test_undo_of_an_add_removes_the_new_item(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("2 חלב", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("עוד 3 חלב וגם לחם", Intent.GROCERY_REQUEST))
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        await undo_action(ctx, unit, "he", 11, int(reply.buttons[0][0].data.split(":")[1]))
        await unit.commit()
    assert await open_items(uow) == [("חלב", 2.0, None)]


async def test_list_is_grouped_by_category_with_tick_buttons(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("חלב, עגבניות, לחם ומשהו מוזר", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("מה חסר לנו?", Intent.LIST_QUERY))
    text = render(reply)
    assert text.index("מוצרי חלב") < text.index("• חלב")
    assert "פירות וירקות" in text and "אחר" in text
    assert len([b for row in reply.buttons for b in row]) == 4


async def test_ticking_an_item_marks_it_bought_and_redraws(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("milk and bread", Intent.GROCERY_REQUEST))
    listing = await handle(uow, routed("what's on the list", Intent.LIST_QUERY))
    first = listing.buttons[0][0].data
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        reply = await tick_item(ctx, unit, "en", 11, int(first.split(":")[1]))
        await unit.commit()
    assert reply.edit
    assert [name for name, _q, _u in await open_items(uow)] == ["bread"]


async def test_a_button_from_another_group_touches_nothing(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("milk", Intent.GROCERY_REQUEST))
    listing = await handle(uow, routed("list", Intent.LIST_QUERY))
    item_id = int(listing.buttons[0][0].data.split(":")[1])
    async with uow() as unit:
        stranger = await resolve(message("x", user_id=999, chat_id=555), unit)
        reply = await tick_item(stranger, unit, "en", 999, item_id)
        await unit.commit()
    assert reply.key is None
    assert await open_items(uow) == [("milk", None, None)]


async def test_item_names_are_escaped_in_html_replies(uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("<b>evil</b> & co", Intent.GROCERY_REQUEST))
    assert "<b>evil" not in render(reply)
    assert "&lt;b&gt;evil" in render(reply)
