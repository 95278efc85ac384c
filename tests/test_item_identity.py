"""One item in every language: matching by concept, notes, questions and honest add replies.

Handlers are called directly on a real SQLite file (tests/conftest.py); a button press goes
through the same function the dispatcher calls for it.
"""

from __future__ import annotations

from sqlalchemy import select

from db.models import Item as ItemRow
from db.store import UnitOfWorkFactory
from handlers.common import resolve
from handlers.digest import collect_digests
from handlers.i18n import button_text, render
from handlers.items import answer_question, undo_action
from handlers.reply import Reply
from router.types import ChatKind, Intent
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


async def press(uow: UnitOfWorkFactory, reply: Reply, label: str, user_id: int = DANA,
                lang: str = "he") -> Reply:
    """Press the button of `reply` whose label contains `label`."""
    buttons = [b for row in reply.buttons for b in row if label in button_text(b, lang)]
    shown = [button_text(b, lang) for row in reply.buttons for b in row]
    assert buttons, f"no button {label!r} in {shown}"
    _kind, question, choice = buttons[0].data.split(":")
    async with uow() as unit:
        ctx = await resolve(message("x", user_id=user_id), unit)
        answer = await answer_question(ctx, unit, lang, user_id, int(question), choice)
        await unit.commit()
    return answer


async def undo(uow: UnitOfWorkFactory, user_id: int) -> Reply:
    async with uow() as unit:
        ctx = await resolve(message("x", user_id=user_id), unit)
        reply = await undo_action(ctx, unit, "en", user_id, None)
        await unit.commit()
    return reply


async def rows(uow: UnitOfWorkFactory) -> list[ItemRow]:
    async with uow() as unit:
        return list((await unit.session.execute(
            select(ItemRow).where(ItemRow.status == "open").order_by(ItemRow.id))).scalars())


async def test_bread_in_hebrew_and_in_arabic_is_one_line_that_keeps_its_words(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("תוסיף לחם", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("بدنا خبز", Intent.GROCERY_REQUEST, user_id=SAMIR))
    assert await open_items(uow) == [("לחם", None, None)]
    text = render(reply)
    # Samir is told it is there, who put it there, and what it is in his own words.
    assert reply.key == "already_listed"
    assert "לחם / خبز" in text and "Dana" in text


async def test_eggs_then_six_eggs_in_another_language_is_six_not_seven(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add eggs", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("תוסיף 6 ביצים", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert await open_items(uow) == [("eggs", 6.0, None)]
    assert render(reply) == "✓ נוסף: 6 ביצים"


async def test_stated_amounts_add_up_and_the_reply_gives_the_new_total(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("תוסיף 3 ביצים", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("עוד 2 ביצים", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert render(reply) == "✓ נוסף: 2 ביצים (עכשיו 5)"
    reply = await handle(uow, routed("2 more eggs", Intent.GROCERY_REQUEST, user_id=SAMIR))
    assert render(reply) == "✓ Added: 2 eggs (now 7)"
    reply = await handle(uow, routed("كمان ٣ بيض", Intent.GROCERY_REQUEST, user_id=SAMIR))
    assert render(reply) == "✓ تمت الإضافة: 3 بيض (صار 10)"
    assert await open_items(uow) == [("ביצים", 10.0, None)]


async def test_adding_a_listed_item_without_an_amount_changes_nothing_and_says_who(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("need 6 eggs", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("eggs and milk", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert render(reply) == "✓ Added: milk\n\nAlready on the list: 6 eggs (added by Dana)"
    assert await open_items(uow) == [("eggs", 6.0, None), ("milk", None, None)]
    # Nothing was recorded for the eggs, so Yossi's undo takes back the milk alone.
    assert (await undo(uow, YOSSI)).key == "undone"
    assert await open_items(uow) == [("eggs", 6.0, None)]


async def test_regional_words_and_synonyms_name_one_item(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("بدنا ٢ كيلو بندورة", Intent.GROCERY_REQUEST, user_id=SAMIR))
    await handle(uow, routed("بدنا كمان كيلو طماطم", Intent.GROCERY_REQUEST, user_id=SAMIR))
    await handle(uow, routed("תוסיף גמבה", Intent.GROCERY_REQUEST))
    await handle(uow, routed("פלפל אדום", Intent.GROCERY_REQUEST, user_id=YOSSI))
    await handle(uow, routed("add 2 red peppers", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert await open_items(uow) == [("بندورة", 3.0, "كيلو"), ("גמבה", 2.0, None)]


async def test_removing_and_all_except_match_across_languages_and_articles(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("milk, bread and coffee", Intent.GROCERY_REQUEST))
    await handle(uow, routed("شيل الحليب", Intent.REMOVE_ITEM, user_id=SAMIR))
    reply = await handle(uow, routed("קנינו הכל חוץ מהלחם", Intent.PARTIAL_COMPLETION,
                                     user_id=YOSSI))
    assert reply.key == "partial_done"
    assert await open_items(uow) == [("bread", None, None)]
    reply = await handle(uow, routed("בעצם 3 לחם", Intent.UPDATE_QUANTITY, user_id=YOSSI))
    assert await open_items(uow) == [("bread", 3.0, None)]
    assert "bread / לחם" in render(reply)


async def test_an_item_with_a_percentage_a_size_and_a_brand_stays_one_item(
        uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("גבינה לבנה 5% (גדולה) - תנובה", Intent.GROCERY_REQUEST))
    assert render(reply) == "✓ נוסף: גבינה לבנה (5%, גדולה, תנובה)"
    [row] = await rows(uow)
    assert (row.name, row.note, row.concept) == ("גבינה לבנה", "5%, גדולה, תנובה",
                                                 "white cheese")
    listing = render(await handle(uow, routed("מה חסר?", Intent.LIST_QUERY)))
    assert "• גבינה לבנה (5%, גדולה, תנובה)" in listing


async def test_notes_make_separate_lines_and_an_add_without_one_asks_which(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("חלב 3%", Intent.GROCERY_REQUEST))
    await handle(uow, routed("low fat milk", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert [(r.name, r.note) for r in await rows(uow)] == [("חלב", "3%"), ("milk", "low fat")]
    # Another 3% milk goes onto its own line without a question.
    await handle(uow, routed("עוד 2 חלב 3%", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("add 2 milk", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert reply.key == "ask_add"
    assert [button_text(b, "en") for r in reply.buttons for b in r] == [
        "2 חלב (3%) / milk", "milk (low fat)", "➕ New line: 2 milk"]
    answer = await press(uow, reply, "low fat", user_id=YOSSI, lang="en")
    assert render(answer) == "✓ Added: 2 milk"
    assert [(r.name, r.quantity) for r in await rows(uow)] == [("חלב", 2.0), ("milk", 2.0)]


async def test_removing_milk_with_soy_milk_listed_asks_which(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("milk, soy milk and bread", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("remove the milk", Intent.REMOVE_ITEM, user_id=YOSSI))
    assert reply.key == "ask_remove"
    assert len(await open_items(uow)) == 3
    answer = await press(uow, reply, "soy", user_id=YOSSI, lang="en")
    assert answer.key == "removed" and answer.edit
    assert [n for n, _q, _u in await open_items(uow)] == ["milk", "bread"]
    # A question is answered once.
    again = await press(uow, reply, "milk", user_id=YOSSI, lang="en")
    assert again.key is None and again.toast == "already_answered"


async def test_all_except_a_name_that_fits_two_lines_asks_which_stays(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("חלב, חלב סויה, לחם וקפה", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("קנינו הכל חוץ מהחלב", Intent.PARTIAL_COMPLETION))
    assert reply.key == "ask_keep"
    assert len(await open_items(uow)) == 4  # nothing marked until the answer
    await handle(uow, routed("תוסיף ביצים", Intent.GROCERY_REQUEST, user_id=YOSSI))
    answer = await press(uow, reply, "את כולם")
    assert answer.key == "partial_done"
    # The eggs came after the question: "everything" did not mean them.
    assert [n for n, _q, _u in await open_items(uow)] == ["חלב", "חלב סויה", "ביצים"]


async def test_all_except_an_item_not_on_the_list_buys_the_rest(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("חלב, לחם", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("קנינו הכל חוץ מהגבינה", Intent.PARTIAL_COMPLETION))
    assert render(reply) == ("✓ סומנו 2 פריטים כנקנו. הרשימה ריקה.\n\n"
                             "(לא היה ברשימה: גבינה)")
    assert await open_items(uow) == []


async def test_words_outside_the_lexicon_match_by_loose_form_and_fuzzy_score(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add kombucha", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("add kombuchas", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert reply.key == "already_listed"
    # A misspelling is close enough to ask about, never merged on a guess.
    reply = await handle(uow, routed("add 2 kombuca", Intent.GROCERY_REQUEST, user_id=YOSSI))
    assert reply.key == "ask_add"
    await press(uow, reply, "kombucha", user_id=YOSSI, lang="en")
    assert await open_items(uow) == [("kombucha", 2.0, None)]
    reply = await handle(uow, routed("remove the kombuca", Intent.REMOVE_ITEM))
    assert reply.key == "removed"
    assert await open_items(uow) == []


async def test_a_digest_gives_the_readers_own_word_for_another_language(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("תוסיף חלב", Intent.GROCERY_REQUEST, chat_id=DANA,
                             kind=ChatKind.PRIVATE))
    await handle(uow, routed("/list", Intent.LIST_QUERY))  # Dana is in the family group
    await handle(uow, routed("بدنا خبز", Intent.GROCERY_REQUEST, user_id=SAMIR))
    async with uow() as unit:
        group = await unit.groups.group_of_chat(FAMILY_CHAT)
        assert group is not None
        digests = await collect_digests(unit, group.id)
        await unit.commit()
    [(chat_id, digest)] = digests
    assert chat_id == DANA
    assert "Samir" in render(digest) and "خبز / לחם" in render(digest)


async def test_a_new_amount_for_a_name_that_fits_two_lines_asks_which(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("חלב 3% וחלב 1%", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("בעצם 3 חלב", Intent.UPDATE_QUANTITY, user_id=YOSSI))
    assert render(reply) == "איזה חלב לעדכן ל־3?"
    assert [(r.note, r.quantity) for r in await rows(uow)] == [("3%", None), ("1%", None)]
    answer = await press(uow, reply, "1%", user_id=YOSSI)
    assert render(answer) == "✓ עודכן: 3 חלב (1%)"
    assert [(r.note, r.quantity) for r in await rows(uow)] == [("3%", None), ("1%", 3.0)]


async def test_the_new_line_button_adds_the_item_as_its_own_line(
        uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("add kombucha", Intent.GROCERY_REQUEST))
    reply = await handle(uow, routed("add 2 kombuca", Intent.GROCERY_REQUEST, user_id=YOSSI))
    answer = await press(uow, reply, "New line", user_id=YOSSI, lang="en")
    assert render(answer) == "✓ Added: 2 kombuca"
    assert await open_items(uow) == [("kombucha", None, None), ("kombuca", 2.0, None)]
