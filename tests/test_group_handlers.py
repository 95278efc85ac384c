"""Group, invite, notification and bug handlers on a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

from db.store import UnitOfWorkFactory, utcnow
from handlers import HANDLERS
from handlers.i18n import render
from handlers.invites import JOIN_LIMIT, join_group
from router.types import ChatKind, Entities, Intent
from tests.support.direct import DANA, SAMIR, YOSSI, handle, message, open_items, routed


async def join(uow: UnitOfWorkFactory, code: str, user_id: int) -> str | None:
    incoming = message(f"/join {code}", user_id=user_id, chat_id=user_id,
                       kind=ChatKind.PRIVATE)
    async with uow() as unit:
        reply = await join_group(incoming, code, "en", unit)
        await unit.commit()
    return reply.key


async def test_every_intent_has_a_handler() -> None:
    assert set(HANDLERS) == set(Intent)


async def test_group_info_lists_members_who_wrote(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("חלב", Intent.GROCERY_REQUEST))
    await handle(uow, routed("ביצים", Intent.GROCERY_REQUEST, user_id=YOSSI))
    reply = await handle(uow, routed("מי חברים פה?", Intent.GROUP_INFO))
    text = render(reply)
    assert "Dana" in text and "Yossi" in text and "2" in text


async def test_invite_code_is_long_random_and_joins_from_a_private_chat(
        uow: UnitOfWorkFactory) -> None:
    created = await handle(uow, routed("I want to add my wife", Intent.CREATE_INVITE))
    code = created.params["code"]
    assert len(code) >= 10 and code.isalnum()
    shown = await handle(uow, routed("what's our code", Intent.GET_INVITE_CODE))
    assert shown.params["code"] == code
    assert await join(uow, code.lower(), SAMIR) == "joined"
    # Samir's private chat now acts on the family list.
    private = routed("add milk", Intent.GROCERY_REQUEST, user_id=SAMIR, chat_id=SAMIR,
                     kind=ChatKind.PRIVATE)
    await handle(uow, private)
    assert await open_items(uow) == [("milk", None, None)]


async def test_creating_a_new_code_retires_the_old_one(uow: UnitOfWorkFactory) -> None:
    first = (await handle(uow, routed("new code", Intent.CREATE_INVITE))).params["code"]
    second = (await handle(uow, routed("new code", Intent.CREATE_INVITE))).params["code"]
    assert first != second
    assert await join(uow, first, SAMIR) == "join_bad_code"
    assert await join(uow, second, SAMIR) == "joined"


async def test_revoked_code_no_longer_joins(uow: UnitOfWorkFactory) -> None:
    code = (await handle(uow, routed("תייצר לנו קוד", Intent.CREATE_INVITE))).params["code"]
    reply = await handle(uow, routed("תבטל את ההזמנה", Intent.REVOKE_INVITE))
    assert reply.key == "invite_revoked"
    assert await join(uow, code, SAMIR) == "join_bad_code"
    shown = await handle(uow, routed("מה הקוד", Intent.GET_INVITE_CODE))
    assert shown.key == "no_invite"


async def test_expired_code_no_longer_joins(uow: UnitOfWorkFactory) -> None:
    code = (await handle(uow, routed("new code", Intent.CREATE_INVITE))).params["code"]
    async with uow() as unit:
        invite = await unit.invites.by_code(code)
        assert invite is not None
        invite.expires_at = utcnow() - timedelta(minutes=1)
        await unit.commit()
    assert await join(uow, code, SAMIR) == "join_bad_code"


async def test_guessing_codes_is_rate_limited(uow: UnitOfWorkFactory) -> None:
    code = (await handle(uow, routed("new code", Intent.CREATE_INVITE))).params["code"]
    for attempt in range(JOIN_LIMIT):
        assert await join(uow, f"WRONG{attempt}", SAMIR) == "join_bad_code"
    # Even the right code is refused once the guesses are used up.
    assert await join(uow, code, SAMIR) == "join_rate_limited"


async def test_rename_with_a_name_and_without_one(uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("שנה שם למשפחת כהן", Intent.RENAME_GROUP))
    assert reply.key == "renamed" and reply.params["title"] == "משפחת כהן"
    ask = await handle(uow, routed("I want to change the group name", Intent.RENAME_GROUP,
                                   entities=Entities()))
    assert ask.key == "rename_ask"
    async with uow() as unit:
        chat = await unit.groups.chat(-100200300)
        assert chat is not None and chat.awaiting == "rename" and chat.awaiting_user_id == DANA


async def test_leaving_keeps_the_items_for_the_others(uow: UnitOfWorkFactory) -> None:
    await handle(uow, routed("bread", Intent.GROCERY_REQUEST))
    await handle(uow, routed("milk", Intent.GROCERY_REQUEST, user_id=YOSSI))
    reply = await handle(uow, routed("I want to leave", Intent.LEAVE_GROUP, user_id=YOSSI))
    assert reply.key == "left"
    assert await open_items(uow) == [("bread", None, None), ("milk", None, None)]
    info = await handle(uow, routed("who's in this list", Intent.GROUP_INFO))
    assert "Yossi" not in render(info)


async def test_notifications_off_on_and_status(uow: UnitOfWorkFactory) -> None:
    off = await handle(uow, routed("בלי התראות בבקשה", Intent.NOTIFICATION_SETTINGS))
    assert off.key == "notify_off"
    status = await handle(uow, routed("am I getting notifications?",
                                      Intent.NOTIFICATION_SETTINGS))
    assert status.key == "notify_status_off"
    on = await handle(uow, routed("شغل الإشعارات", Intent.NOTIFICATION_SETTINGS))
    assert on.key == "notify_on" and on.lang == "ar"


async def test_bug_report_is_stored_and_forwarded(uow: UnitOfWorkFactory) -> None:
    reply = await handle(uow, routed("/bug הבוט לא עונה", Intent.BUG_REPORT))
    assert reply.key == "bug_thanks"
    assert reply.effects and reply.effects[0].payload["text"] == "הבוט לא עונה"


async def test_chit_chat_in_a_group_gets_no_answer_unless_addressed(
        uow: UnitOfWorkFactory) -> None:
    quiet = routed("בוקר טוב", Intent.OTHER)
    quiet = type(quiet)(**{**{f: getattr(quiet, f) for f in quiet.__slots__},
                           "incoming": message("בוקר טוב").__class__(
                               **{**{f: getattr(quiet.incoming, f)
                                     for f in quiet.incoming.__slots__}, "addressed": False})})
    assert (await handle(uow, quiet)).key is None
    private = routed("thanks!", Intent.OTHER, chat_id=DANA, kind=ChatKind.PRIVATE)
    assert (await handle(uow, private)).key == "other"


async def test_invite_expiry_shows_in_the_groups_timezone(uow: UnitOfWorkFactory) -> None:
    from datetime import UTC, datetime

    from handlers.reply import Reply

    reply = await handle(uow, routed("new code", Intent.CREATE_INVITE))
    expires = reply.params["expires"]
    assert expires.tzinfo is not None
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    jerusalem = render(Reply("invite_code", "en", {**reply.params, "expires": moment},
                             tz=reply.tz))
    london = render(Reply("invite_code", "en", {**reply.params, "expires": moment},
                          tz="Europe/London"))
    assert "01/07/2026 15:00" in jerusalem and "01/07/2026 13:00" in london
