"""Invite codes: show, create, revoke, and join a group with one from any chat."""

from __future__ import annotations

import secrets
from datetime import timedelta

from db.store import UnitOfWork, as_utc, utcnow
from handlers.common import command_args, resolve
from handlers.group import JOINED_BY_CODE, removed_before, tell_members
from handlers.reply import Reply
from router.types import ChatKind, Incoming, Routed

__all__ = [
    "INVITE_TTL",
    "JOIN_LIMIT",
    "handle_create_invite",
    "handle_get_invite_code",
    "handle_join",
    "handle_revoke_invite",
    "join_group",
    "new_code",
]

INVITE_TTL = timedelta(days=7)
# Failed /join tries a user gets per hour: 5 guesses at 2^50 codes is no attack at all.
JOIN_LIMIT = 5
JOIN_WINDOW = timedelta(hours=1)
# Crockford-like alphabet without look-alikes (0/O, 1/I/L) so codes survive being read aloud.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 11  # 30^11 ≈ 2^54 > 2^40


def new_code() -> str:
    """A fresh unguessable code from `secrets`."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _canonical(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())[:32]


async def handle_get_invite_code(msg: Routed, uow: UnitOfWork) -> Reply:
    """Show the group's current code, or offer to make one."""
    ctx = await resolve(msg.incoming, uow)
    invite = await uow.invites.current(ctx.group.id, utcnow())
    if invite is None:
        return Reply("no_invite", msg.lang)
    return Reply("invite_code", msg.lang, {"code": invite.code, "title": ctx.group.title,
                                           "expires": as_utc(invite.expires_at)},
                 tz=ctx.group.timezone)


async def handle_create_invite(msg: Routed, uow: UnitOfWork) -> Reply:
    """Make a new code; the old one stops working so only one is ever live."""
    ctx = await resolve(msg.incoming, uow)
    await uow.invites.revoke_all(ctx.group.id)
    invite = await uow.invites.create(ctx.group.id, new_code(), msg.incoming.user_id,
                                      INVITE_TTL)
    return Reply("invite_created", msg.lang, {"code": invite.code, "title": ctx.group.title,
                                              "expires": as_utc(invite.expires_at)},
                 tz=ctx.group.timezone)


async def handle_revoke_invite(msg: Routed, uow: UnitOfWork) -> Reply:
    """Cancel every live code of the group."""
    ctx = await resolve(msg.incoming, uow)
    count = await uow.invites.revoke_all(ctx.group.id)
    return Reply("invite_revoked" if count else "no_invite_to_revoke", msg.lang)


async def handle_join(incoming: Incoming, uow: UnitOfWork, lang: str,
                      _admin: bool | None) -> Reply:
    """`/join CODE`."""
    code = command_args(incoming)
    if not code:
        return Reply("join_usage", lang)
    return await join_group(incoming, code, lang, uow)


async def join_group(incoming: Incoming, code: str, lang: str, uow: UnitOfWork) -> Reply:
    """`/join CODE`: join that group from this chat, rate-limited against guessing."""
    await resolve(incoming, uow)
    # Guesses from several chats at once would all read the same count before any of
    # them records its try; the user's lock makes the limit exact.
    await uow.groups.lock_user(incoming.user_id)
    since = utcnow() - JOIN_WINDOW
    if await uow.invites.failed_attempts_since(incoming.user_id, since) >= JOIN_LIMIT:
        return Reply("join_rate_limited", lang)
    cleaned = _canonical(code)
    invite = await uow.invites.by_code(cleaned) if cleaned else None
    now = utcnow()
    if invite is None or invite.revoked_at is not None or as_utc(invite.expires_at) <= now:
        await uow.invites.record_attempt(incoming.user_id, False)
        return Reply("join_bad_code", lang)
    await uow.invites.record_attempt(incoming.user_id, True)
    group = await uow.groups.get(invite.group_id)
    assert group is not None
    before = await uow.groups.member(group.id, incoming.user_id)
    if removed_before(before, invite.created_at):
        return Reply("join_removed", lang, {"title": group.title})
    was_active = before is not None and before.active
    member = await uow.groups.add_member(group.id, incoming.user_id)
    if incoming.chat_kind is ChatKind.PRIVATE:
        await uow.groups.bind_chat(incoming.chat_id, group.id, "private")
    if was_active:
        return Reply("joined", lang, {"title": group.title})
    member.joined_via = JOINED_BY_CODE
    member.removed_by = None
    notices = await tell_members(uow, group, "member_joined",
                                 {"name": incoming.user_name, "title": group.title}, lang,
                                 exclude={incoming.user_id})
    return Reply("joined", lang, {"title": group.title}, effects=notices)
