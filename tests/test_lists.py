"""Several lists per group (issue 13, part 3): named lists created, switched, shown, renamed
and deleted by words and by commands; adds to a named list in one message; every change to
items acting on the list it concerns; each member's current list their own.

Handlers are called directly on a real SQLite file (tests/conftest.py), or through the
dispatcher with the bundled model where commands are tested.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db.lists import ListRepo
from db.models import Member
from db.store import UnitOfWorkFactory
from handlers.common import Context, resolve
from handlers.digest import collect_digests
from handlers.i18n import render
from handlers.items import add_items, tick_item, undo_action
from handlers.listref import on_list
from handlers.reply import Reply
from router.lists import list_concept, list_entities, split_target
from router.types import ChatKind, Entities, Intent
from router.types import Item as Wanted
from tests.support.direct import (
    DANA,
    FAMILY_CHAT,
    SAMIR,
    YOSSI,
    handle,
    message,
    open_items,
    routed,
)
from tests.support.postgres import migrated_store


def manage(text: str, **kwargs: object) -> object:
    return routed(text, Intent.LIST_MANAGE, **kwargs)  # type: ignore[arg-type]


async def items_of(uow: UnitOfWorkFactory, name: str | None) -> list[str]:
    """The open items' names on a list (None: the default list)."""
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        list_id = 0
        if name is not None:
            [row] = [r for r in await ListRepo(unit.session).live(ctx.group.id)
                     if r.name == name]
            list_id = row.id
        rows = await unit.items.open_items(ctx.group.id, list_id)
        return [row.name for row in rows]


def undo_id(reply: Reply) -> int:
    [data] = [b.data for row in reply.buttons for b in row if b.data.startswith("u:")]
    return int(data.split(":")[1])


@pytest.mark.parametrize(("text", "action", "name"), [
    ("רשימה לפארם", "open", "פארם"),
    ("party list", "open", "party"),
    ("قائمة الخضرة", "open", "الخضرة"),
    ("список для аптеки", "open", "аптеки"),
    ("תפתח רשימה חדשה למסיבה", "create", "מסיבה"),
    ("create a new list for the pharmacy", "create", "pharmacy"),
    ("اعمل قائمة جديدة للحفلة", "create", "الحفلة"),
    ("switch to the pharmacy list", "switch", "pharmacy"),
    ("עבור לרשימה של הפארם", "switch", "פארם"),
    ("روح على قائمة الصيدلية", "switch", "الصيدلية"),
    ("переключись на список для аптеки", "switch", "аптеки"),
    ("what lists do we have", "show", None),
    ("אילו רשימות יש לנו", "show", None),
    ("delete the party list", "delete", "party"),
    ("תמחק את הרשימה של הפארם", "delete", "פארם"),
])
def test_list_words_give_the_action_and_the_name(text: str, action: str,
                                                 name: str | None) -> None:
    entities = list_entities(text)
    assert (entities.action, entities.list_name) == (action, name)


def test_a_rename_names_both_lists() -> None:
    assert list_entities("rename the party list to birthday").to_json() == {
        "action": "rename", "list_name": "party", "new_name": "birthday"}
    entities = list_entities("שנה את שם הרשימה של המסיבה ליום הולדת")
    assert (entities.action, entities.new_name) == ("rename", "יום הולדת")


@pytest.mark.parametrize(("text", "rest", "name"), [
    ("תוסיף לרשימה של הפארם שמפו", "תוסיף שמפו", "פארם"),
    ("add shampoo to the pharmacy list", "add shampoo", "pharmacy"),
    ("ضيف شامبو لقائمة الصيدلية", "ضيف شامبو", "الصيدلية"),
    ("добавь шампунь в список для аптеки", "добавь шампунь", "аптеки"),
    # "the list" itself, and words that merely mention a list, name none.
    ("add milk to the list", "add milk", None),
    ("ضيف حليب على القائمة", "ضيف حليب على القائمة", None),
    ("שים ברשימה חלב", "שים ברשימה חלב", None),
])
def test_an_add_names_its_list_and_the_list_is_no_item(text: str, rest: str,
                                                       name: str | None) -> None:
    assert split_target(text) == (rest, name)


def test_one_list_in_every_language_is_one_concept() -> None:
    assert {list_concept(n) for n in ("פארם", "pharmacy", "الصيدلية", "аптеки")} == {
        "pharmacy"}
    assert list_concept("the main list") == list_concept("הרשימה הראשית") == "default"


async def test_a_named_list_keeps_its_own_items_and_list_names_the_others(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add milk", Intent.GROCERY_REQUEST))
    created = await handle(uow, manage("new list for the pharmacy"))
    assert created.key == "list_created"
    added = await handle(uow, routed("add shampoo", Intent.GROCERY_REQUEST))
    assert "pharmacy" in render(added)
    assert await items_of(uow, None) == ["milk"]
    assert await items_of(uow, "pharmacy") == ["shampoo"]
    shown = render(await handle(uow, routed("list", Intent.LIST_QUERY)))
    assert "shampoo" in shown and "milk" not in shown and "Main list (1)" in shown
    # Yossi never switched: his adds and his /list are the default list's.
    await handle(uow, routed("add bread", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert await items_of(uow, None) == ["milk", "bread"]
    his = render(await handle(uow, routed("list", Intent.LIST_QUERY, user_id=YOSSI)))
    assert "bread" in his and "shampoo" not in his and "pharmacy (1)" in his


async def test_an_add_to_a_named_list_in_another_language_does_not_switch(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, manage("רשימה לפארם"))
    await handle(uow, manage("back to the main list"))
    reply = await handle(uow, routed("add soap and shampoo to the pharmacy list",
                                     Intent.GROCERY_REQUEST))
    assert reply.key == "added_to" and "פארם" in render(reply)
    assert await items_of(uow, "פארם") == ["soap", "shampoo"]
    await handle(uow, routed("add milk", Intent.GROCERY_REQUEST))
    assert await items_of(uow, None) == ["milk"]


async def test_a_question_about_a_named_list_shows_it_without_switching(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add milk", Intent.GROCERY_REQUEST))
    await handle(uow, manage("רשימה לפארם"))
    await handle(uow, routed("add shampoo", Intent.GROCERY_REQUEST))
    await handle(uow, manage("back to the main list"))
    for question in ("what's on the pharmacy list?", "מה יש ברשימה של הפארם?",
                     "شو في بقائمة الصيدلية؟", "что в списке для аптеки?"):
        shown = render(await handle(uow, routed(question, Intent.LIST_QUERY)))
        assert "shampoo" in shown and "milk" not in shown, question
    # A name that fits no list shows the current list, and nothing switched.
    shown = render(await handle(uow, routed("show me the list", Intent.LIST_QUERY)))
    assert "milk" in shown and "shampoo" not in shown


async def test_items_for_a_named_list_are_an_add_whichever_intent_was_read(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, manage("party list"))
    await handle(uow, manage("back to the main list"))
    reply = await handle(uow, manage("add cake and balloons to the party list"))
    assert reply.key == "added_to"
    assert await items_of(uow, "party") == ["cake", "balloons"]
    assert await items_of(uow, None) == []
    assert list_entities("put balloons on the party list").list_name is None


async def test_an_add_to_a_list_that_does_not_exist_asks_and_creates_it(
        uow: UnitOfWorkFactory) -> None:
    from handlers.lists import answer_list_question

    reply = await handle(uow, routed("add balloons to the party list",
                                     Intent.GROCERY_REQUEST))
    assert reply.key == "list_not_found_add"
    assert await open_items(uow) == []
    [data] = [b.data for row in reply.buttons for b in row if b.data.endswith(":new")]
    question = int(data.split(":")[1])
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        answer = await answer_list_question(ctx, unit, message("x"), "en", question, "new")
        await unit.commit()
    assert answer.key == "added_to"
    assert await items_of(uow, "party") == ["balloons"]


async def test_ticking_removing_and_clearing_act_on_the_list_they_concern(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add milk and eggs", Intent.GROCERY_REQUEST))
    await handle(uow, manage("make a party list"))
    await handle(uow, routed("add cake, candles and milk", Intent.GROCERY_REQUEST))
    await handle(uow, routed("remove the milk", Intent.REMOVE_ITEM))
    assert await items_of(uow, None) == ["milk", "eggs"]
    assert await items_of(uow, "party") == ["cake", "candles"]
    await handle(uow, routed("bought everything but the candles",
                             Intent.PARTIAL_COMPLETION))
    assert await items_of(uow, "party") == ["candles"]
    assert await items_of(uow, None) == ["milk", "eggs"]
    cleared = await handle(uow, routed("done shopping", Intent.CLEAR_LIST))
    assert cleared.key == "cleared" and await items_of(uow, "party") == []
    assert await items_of(uow, None) == ["milk", "eggs"]


async def test_a_tick_on_another_lists_message_ticks_that_list(
        uow: UnitOfWorkFactory) -> None:
    shown = None
    await handle(uow, routed("add milk", Intent.GROCERY_REQUEST))
    shown = await handle(uow, routed("list", Intent.LIST_QUERY))
    await handle(uow, manage("make a party list"))
    [data] = [b.data for row in shown.buttons for b in row if b.data.startswith("t:")]
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        reply = await tick_item(ctx, unit, "en", DANA, int(data[2:]))
        await unit.commit()
    assert "Main list" not in render(reply) and await items_of(uow, None) == []


async def test_rename_delete_and_undo_of_each(uow: UnitOfWorkFactory) -> None:
    await handle(uow, manage("make a party list"))
    await handle(uow, routed("add cake", Intent.GROCERY_REQUEST))
    renamed = await handle(uow, manage("rename the party list to birthday"))
    assert renamed.key == "list_renamed"
    deleted = await handle(uow, manage("delete the birthday list"))
    assert deleted.key == "list_deleted"
    # Dana was on it: she is back on the default list.
    await handle(uow, routed("add milk", Intent.GROCERY_REQUEST))
    assert await items_of(uow, None) == ["milk"]
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        back = await undo_action(ctx, unit, "en", DANA, undo_id(deleted))
        await unit.commit()
    assert back.key == "undone"
    assert await items_of(uow, "birthday") == ["cake"]
    async with uow() as unit:
        ctx = await resolve(message("x"), unit)
        await undo_action(ctx, unit, "en", DANA, undo_id(renamed))
        await unit.commit()
    assert await items_of(uow, "party") == ["cake"]


async def test_the_default_list_cannot_go_and_a_name_is_asked_about_when_two_fit(
        uow: UnitOfWorkFactory) -> None:
    assert (await handle(uow, manage("delete the main list"))).key == "list_default_fixed"
    await handle(uow, routed("/newlist party 1", Intent.LIST_MANAGE,
                             Entities(action="create", list_name="party 1")))
    await handle(uow, routed("/newlist party 2", Intent.LIST_MANAGE,
                             Entities(action="create", list_name="party 2")))
    reply = await handle(uow, manage("switch to the party list"))
    assert reply.key == "which_list" and len(reply.buttons) == 2
    again = await handle(uow, routed("/newlist Party 1", Intent.LIST_MANAGE,
                                     Entities(action="create", list_name="Party 1")))
    assert "list_exists" in [r.key for r in again.before]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_open_line_stays_unique_per_list(kind: str, tmp_path: Path) -> None:
    async with migrated_store(kind, tmp_path) as store:
        await handle(store, routed("add 2 milk", Intent.GROCERY_REQUEST))
        await handle(store, manage("make a party list"))
        await handle(store, routed("add 1 milk", Intent.GROCERY_REQUEST))
        await handle(store, routed("add 3 milk", Intent.GROCERY_REQUEST))
        await handle(store, manage("switch to the main list"))
        await handle(store, routed("add 1 milk", Intent.GROCERY_REQUEST))
        assert await open_items(store) == [("milk", 3.0, None)]
        async with store() as unit:
            ctx = await resolve(message("x"), unit)
            [party] = await ListRepo(unit.session).live(ctx.group.id)
            rows = await unit.items.open_items(ctx.group.id, party.id)
            assert [(r.name, r.quantity) for r in rows] == [("milk", 4.0)]


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_concurrent_adds_to_two_lists_and_creates_of_one_name(
        kind: str, tmp_path: Path) -> None:
    """Writers with no group lock around them, each in its own transaction: the store alone
    keeps one open line per list and one live list per name."""
    async with migrated_store(kind, tmp_path) as store:
        await handle(store, routed("add bread", Intent.GROCERY_REQUEST))
        async with store() as unit:
            ctx = await resolve(message("x"), unit)
            group_id, member_id = ctx.group.id, ctx.member.id
            party = await ListRepo(unit.session).create(group_id, "party", "party",
                                                        "party", DANA)
            assert party is not None
            party_id = party.id
            await unit.commit()

        async def one(index: int) -> None:
            async with store() as unit:
                group = await unit.groups.get(group_id)
                member = await unit.session.get(Member, member_id)
                assert group is not None and member is not None
                ctx = await on_list(Context(group, member), unit,
                                    party_id if index % 2 else 0)
                await add_items(ctx, [Wanted("milk", 1.0)], unit, 100 + index)
                if index < 10:
                    await ListRepo(unit.session).create(group_id, "camping", "camping",
                                                        "~camping", 100 + index)
                await unit.commit()

        await asyncio.gather(*(one(index) for index in range(40)))
        async with store() as unit:
            main = await unit.items.open_items(group_id, 0)
            on_party = await unit.items.open_items(group_id, party_id)
            names = [row.name for row in await ListRepo(unit.session).live(group_id)]
        assert [(r.name, r.quantity) for r in main] == [("bread", None), ("milk", 20.0)]
        assert [(r.name, r.quantity) for r in on_party] == [("milk", 20.0)]
        assert names == ["party", "camping"]


async def test_a_digest_names_the_list_a_change_was_made_on(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add milk", Intent.GROCERY_REQUEST, chat_id=DANA,
                             kind=ChatKind.PRIVATE))
    await handle(uow, routed("/list", Intent.LIST_QUERY))  # Dana is in the family group
    await handle(uow, manage("make a party list", user_id=YOSSI))
    await handle(uow, routed("add cake", Intent.GROCERY_REQUEST, user_id=YOSSI))
    await handle(uow, routed("add bread", Intent.GROCERY_REQUEST, user_id=SAMIR))
    async with uow() as unit:
        group = await unit.groups.group_of_chat(FAMILY_CHAT)
        assert group is not None
        digests = await collect_digests(unit, group.id)
        await unit.commit()
    [(chat_id, digest)] = digests
    text = render(digest)
    assert chat_id == DANA
    assert "created the list party" in text and "cake (list party)" in text
    assert "bread" in text and "bread (list" not in text
