"""The household: who is in it, its name, joining, leaving and being removed.

Who may use a group's list follows its Telegram group chat: whoever writes there is a member,
and whoever leaves that chat (or is removed from it) loses the list in every chat. Members who
joined with an invite code are not in the group chat; an admin of the chat (for a list without
one, the member who created it) can remove them. Every join and leave is told to the other
members in one short line: in the group chat, and privately to those who joined by code.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from db.models import Group, GroupKind, Member, MemberRole
from db.store import UnitOfWork, as_utc, utcnow
from handlers.buttons import RemoveMember, encode
from handlers.common import command_args, resolve
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES
from handlers.reply import Button, Effect, EffectKind, Reply
from router.normalize import clean_text
from router.types import ChatKind, Incoming, Routed

__all__ = [
    "ADMIN_STATUSES",
    "JOINED_BY_CODE",
    "bot_added",
    "bot_removed",
    "chat_migrated",
    "handle_group_info",
    "handle_kick",
    "handle_leave_group",
    "handle_rename_group",
    "member_joined",
    "member_left",
    "remove_member",
    "removed_before",
    "rename_to",
    "tell_members",
]

MAX_TITLE = 64
# Telegram's chat member statuses that may manage a group.
ADMIN_STATUSES = frozenset({"creator", "administrator"})
JOINED_BY_CODE = "code"


async def handle_group_info(msg: Routed, uow: UnitOfWork) -> Reply:
    """The group's name, its members and how much is on the list; a remove button for each
    member who joined with a code (only an admin's press does anything)."""
    ctx = await resolve(msg.incoming, uow)
    members = await uow.groups.members(ctx.group.id)
    names = [user.display_name if user else str(member.user_id) for member, user in members]
    count = await uow.items.count_open(ctx.group.id)
    buttons = tuple(
        (Button("btn_remove", encode(RemoveMember(member.user_id)),
                {"name": user.display_name if user else str(member.user_id)}),)
        for member, user in members
        if _removable(ctx.group, member) and member.user_id != msg.incoming.user_id)
    return Reply("group_info", msg.lang, {"title": ctx.group.title, "members": names,
                                          "count": count}, buttons=buttons[:20])


async def rename_to(msg: Routed, uow: UnitOfWork, name: str) -> Reply:
    """Give the group a new name (cleaned of invisible characters, at most 64 long)."""
    ctx = await resolve(msg.incoming, uow)
    title = clean_text(name)[:MAX_TITLE]
    if not title:
        return Reply("rename_ask", msg.lang)
    old = ctx.group.title
    ctx.group.title = title
    await uow.groups.set_awaiting(msg.incoming.chat_id, None, None)
    return Reply("renamed", msg.lang, {"old": old, "title": title})


async def handle_rename_group(msg: Routed, uow: UnitOfWork) -> Reply:
    """Rename to the given name, or ask for one and take the sender's next message."""
    if msg.entities.new_name:
        return await rename_to(msg, uow, msg.entities.new_name)
    await resolve(msg.incoming, uow)
    await uow.groups.set_awaiting(msg.incoming.chat_id, "rename", msg.incoming.user_id)
    return Reply("rename_ask", msg.lang)


async def handle_leave_group(msg: Routed, uow: UnitOfWork) -> Reply:
    """Leave the group; the items one added stay on the list for the others.

    The others hear it in one line; the last member to leave is told the list is kept.
    """
    ctx = await resolve(msg.incoming, uow)
    if ctx.group.kind == GroupKind.PERSONAL and ctx.member.role == MemberRole.OWNER:
        return Reply("cannot_leave_personal", msg.lang)
    await _deactivate(uow, ctx.group, ctx.member, msg.incoming.user_id)
    title = ctx.group.title
    changed = Effect(EffectKind.LIST_CHANGED, {"group_id": ctx.group.id})
    if not await uow.groups.members(ctx.group.id):
        count = await uow.items.count_open(ctx.group.id)
        return Reply("left_last", msg.lang, {"title": title, "count": count},
                     effects=(changed,))
    # Said in the group chat, the reply itself tells the chat; the rest hear it apart.
    notices = await tell_members(
        uow, ctx.group, "member_left", {"name": msg.incoming.user_name, "title": title},
        msg.lang, exclude={msg.incoming.user_id},
        skip_chat=msg.incoming.chat_id if msg.incoming.chat_kind is ChatKind.GROUP else None)
    return Reply("left", msg.lang, {"title": title}, effects=(changed, *notices))


async def tell_members(uow: UnitOfWork, group: Group, key: str, params: dict[str, object],
                       lang: str, exclude: set[int], skip_chat: int | None = None
                       ) -> tuple[Effect, ...]:
    """One line to every member of a group who should hear of a change in it.

    The group chats (those the bot is still in) hear it once, in the language most of its
    members use (`lang` when none is known); members who joined with a code are not in those
    chats and hear it privately, each in their own language. A list without a group chat
    tells every member privately.
    """
    effects: list[Effect] = []
    members = await uow.groups.members(group.id)
    spoken = Counter(str(user.language or user.last_language) for _member, user in members
                     if user is not None and (user.language or user.last_language))
    common = group.language or (spoken.most_common(1)[0][0] if spoken else lang)
    chats = [chat for chat in await uow.groups.group_chats(group.id) if chat.chat_id != skip_chat]
    for chat in chats:
        effects.append(Effect(EffectKind.NOTICE,
                              {"chat_id": chat.chat_id, "reply": Reply(key, common, params)}))
    has_chat = bool(await uow.groups.group_chats(group.id))
    for member, user in members:
        if member.user_id in exclude or user is None or user.private_chat_id is None:
            continue
        if has_chat and member.joined_via != JOINED_BY_CODE:
            continue  # reads the group chat
        reader = user.language or user.last_language or group.language or lang
        effects.append(Effect(EffectKind.NOTICE, {"chat_id": user.private_chat_id,
                                                  "reply": Reply(key, reader, params)}))
    return tuple(effects)


async def _deactivate(uow: UnitOfWork, group: Group, member: Member, user_id: int,
                      removed_by: int | None = None) -> None:
    """The member leaves: gone from /members and digests; their private chat stops acting
    on the group at once (back on their own list)."""
    member.active = False
    member.left_at = utcnow()
    member.removed_by = removed_by
    for chat in await uow.groups.private_chats_on(group.id, user_id):
        personal = await uow.groups.personal_group(user_id)
        if personal is not None:
            chat.group_id = personal.id
    await uow.session.flush()


def _removable(group: Group, member: Member) -> bool:
    """Joined with a code, so not in any group chat (the owner of a personal list is not)."""
    if group.kind == GroupKind.PERSONAL:
        return member.role != MemberRole.OWNER
    return member.joined_via == JOINED_BY_CODE


def removed_before(member: Member | None, code_made: datetime) -> bool:
    """Whether `member` was removed by an admin after the invite code was made: such a code
    does not let them back in (a newer one does)."""
    if member is None or member.active or member.removed_by is None or member.left_at is None:
        return False
    return as_utc(code_made) <= as_utc(member.left_at)


async def member_joined(uow: UnitOfWork, incoming: Incoming) -> Reply:
    """Someone joined the group chat on Telegram (`incoming` speaks for them there).

    They are a member of its list from now on; the chat hears it in one line, once (the
    service message and the chat_member update both report the same join).
    """
    chat = await uow.groups.chat(incoming.chat_id)
    group = await uow.groups.get(chat.group_id) if chat is not None else None
    before = (await uow.groups.active_member(group.id, incoming.user_id)
              if group is not None else None)
    ctx = await resolve(incoming, uow)
    ctx.member.joined_via = None  # in the group chat now, whatever brought them first
    if before is not None:
        return Reply.silent(incoming.language_hint or "he")
    lang = ctx.group.language or _lang(incoming)
    params: dict[str, object] = {"name": incoming.user_name, "title": ctx.group.title}
    notices = await tell_members(uow, ctx.group, "member_joined", params, lang,
                                 exclude={incoming.user_id}, skip_chat=incoming.chat_id)
    return Reply("member_joined", lang, params, effects=notices)


async def member_left(uow: UnitOfWork, chat_id: int, user_id: int, name: str,
                      lang: str) -> Reply:
    """Someone left the group chat on Telegram, or was removed from it.

    They lose the list in every chat at once: their private chat no longer acts on it, they
    leave /members and get no digests. The chat hears it in one line, once; the one who left
    hears privately that the list is no longer theirs (or, as its last member, that it is
    kept).
    """
    await uow.groups.lock_chat(chat_id)
    chat = await uow.groups.chat(chat_id)
    if chat is None or chat.kind != "group":
        return Reply.silent(lang)
    await uow.groups.lock(chat.group_id)
    group = await uow.groups.get(chat.group_id)
    member = await uow.groups.active_member(chat.group_id, user_id)
    if group is None or member is None:
        return Reply.silent(lang)
    had_private = bool(await uow.groups.private_chats_on(group.id, user_id))
    await _deactivate(uow, group, member, user_id)
    title = group.title
    lang = group.language or lang
    effects: list[Effect] = [Effect(EffectKind.LIST_CHANGED, {"group_id": group.id})]
    remaining = await uow.groups.members(group.id)
    user = await uow.groups.user(user_id)
    if user is not None and user.private_chat_id is not None and (had_private
                                                                   or not remaining):
        own = user.language or user.last_language or lang
        key = "list_unshared" if remaining else "left_last"
        count = await uow.items.count_open(group.id)
        effects.append(Effect(EffectKind.NOTICE, {
            "chat_id": user.private_chat_id,
            "reply": Reply(key, own, {"title": title, "count": count})}))
    if not remaining:
        return Reply(None, lang, effects=tuple(effects))
    params: dict[str, object] = {"name": name, "title": title}
    effects.extend(await tell_members(uow, group, "member_left", params, lang,
                                      exclude={user_id}, skip_chat=chat_id))
    return Reply("member_left", lang, params, effects=tuple(effects))


async def handle_kick(incoming: Incoming, uow: UnitOfWork, lang: str,
                      admin: bool | None) -> Reply:
    """`/kick NAME`: an admin removes a member who joined with a code; without a name, the
    members to choose from."""
    return await remove_member(incoming, uow, lang, command_args(incoming), None, admin)


async def remove_member(incoming: Incoming, uow: UnitOfWork, lang: str, name: str | None,
                        user_id: int | None, admin: bool | None) -> Reply:
    """An admin removes a member who joined with a code (`/kick NAME` or a /members button).

    Args:
        admin: whether the sender is an administrator of the list's group chat, checked
            with Telegram just now; None when that could not be checked. A list without a
            group chat is managed by the member who created it.
    """
    ctx = await resolve(incoming, uow)
    group = ctx.group
    if await uow.groups.group_chats(group.id):
        if admin is None:
            return Reply("remove_admin_unknown", lang)
        allowed = admin
    else:
        allowed = group.kind == GroupKind.PERSONAL and ctx.member.role == MemberRole.OWNER
    if not allowed:
        return Reply("remove_not_allowed", lang, {"title": group.title})
    members = [(member, user) for member, user in await uow.groups.members(group.id)
               if member.user_id != incoming.user_id]
    candidates = [(member, user) for member, user in members if _removable(group, member)]

    def label(member: Member, user: object) -> str:
        return getattr(user, "display_name", None) or str(member.user_id)

    def choices(rows: list[tuple[Member, object]]) -> tuple[tuple[Button, ...], ...]:
        return tuple((Button("btn_remove", encode(RemoveMember(member.user_id)),
                             {"name": label(member, user)}),) for member, user in rows[:20])

    if user_id is not None:
        found = [(m, u) for m, u in members if m.user_id == user_id]
        if user_id == incoming.user_id:
            return Reply("remove_self", lang)
    else:
        wanted = clean_text(name or "").lstrip("@").casefold()
        if not wanted:
            if not candidates:
                return Reply("remove_nobody", lang, {"title": group.title})
            return Reply("remove_who", lang, {"title": group.title},
                         buttons=choices(list(candidates)))
        found = [(m, u) for m, u in members if label(m, u).casefold() == wanted]
        if not found:
            found = [(m, u) for m, u in members
                     if label(m, u).casefold().startswith(wanted)
                     or wanted in label(m, u).casefold().split()]
        if wanted == clean_text(incoming.user_name).casefold() and not found:
            return Reply("remove_self", lang)
        if len(found) > 1:
            return Reply("remove_which", lang, {"name": name or ""},
                         buttons=choices(list(found)))
    if not found:
        return Reply("remove_no_such", lang, {"name": name or str(user_id)},
                     buttons=choices(list(candidates)))
    member, user = found[0]
    target = label(member, user)
    if not _removable(group, member):
        return Reply("remove_in_chat", lang, {"name": target})
    await _deactivate(uow, group, member, member.user_id, removed_by=incoming.user_id)
    params: dict[str, object] = {"name": target, "title": group.title,
                                 "admin": incoming.user_name}
    effects: list[Effect] = [Effect(EffectKind.LIST_CHANGED, {"group_id": group.id})]
    if user is not None and user.private_chat_id is not None:
        own = user.language or user.last_language or lang
        effects.append(Effect(EffectKind.NOTICE, {
            "chat_id": user.private_chat_id, "reply": Reply("removed_you", own, params)}))
    effects.extend(await tell_members(
        uow, group, "member_removed", params, lang, exclude={incoming.user_id},
        skip_chat=incoming.chat_id if incoming.chat_kind is ChatKind.GROUP else None))
    return Reply("member_removed", lang, params, effects=tuple(effects))


async def bot_removed(uow: UnitOfWork, chat_id: int) -> Reply:
    """The bot was removed from a group chat: nothing is sent there any more. The list and
    its members stay; members who joined by code keep it in their private chats."""
    await uow.groups.lock_chat(chat_id)
    await uow.groups.set_chat_gone(chat_id, True)
    return Reply.silent("he")


async def bot_added(uow: UnitOfWork, chat_id: int) -> None:
    """The bot is back in a group chat it was removed from: it may write there again."""
    chat = await uow.groups.chat(chat_id)
    if chat is not None and chat.gone_at is not None:
        await uow.groups.set_chat_gone(chat_id, False)


async def chat_migrated(uow: UnitOfWork, old_chat_id: int, new_chat_id: int) -> Reply:
    """A group became a supergroup (a new chat id): the new chat keeps the group's list.

    Telegram reports it twice (in the old chat and as the new chat's first message);
    whichever comes first binds the new chat, the other finds nothing left to do.
    """
    await uow.groups.lock_chat(min(old_chat_id, new_chat_id))
    await uow.groups.lock_chat(max(old_chat_id, new_chat_id))
    old = await uow.groups.chat(old_chat_id)
    new = await uow.groups.chat(new_chat_id)
    if old is None:
        return Reply.silent("he")
    if new is None:
        await uow.groups.bind_chat(new_chat_id, old.group_id, "group")
    if old.gone_at is None:
        await uow.groups.set_chat_gone(old_chat_id, True)
    return Reply.silent("he")


def _lang(incoming: Incoming) -> str:
    hint = (incoming.language_hint or DEFAULT_LANGUAGE)[:2]
    return hint if hint in LANGUAGES else DEFAULT_LANGUAGE
