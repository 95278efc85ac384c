"""What every handler needs first: the group a chat acts on and the sender's membership."""

from __future__ import annotations

import re
from dataclasses import dataclass

from db.models import Group, GroupKind, Member, MemberRole
from db.store import UnitOfWork
from router.normalize import detect_language
from router.types import ChatKind, Incoming

__all__ = ["MAX_QUANTITY", "Context", "command_args", "resolve"]

# Beyond this an amount is a typo or a joke, never a shopping list.
MAX_QUANTITY = 1000.0


_COMMAND = re.compile(r"^/\w+(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


def command_args(incoming: Incoming) -> str:
    """What follows a command (`/kick Dana` gives "Dana"); empty without any."""
    match = _COMMAND.match(incoming.text.strip())
    return (match.group(1) or "").strip() if match else ""


@dataclass(frozen=True, slots=True)
class Context:
    """The group a message acts on, its sender's membership in it, and the list it acts on
    (`list_id` None: not looked up yet, handlers/listref.py `on_list`; 0: the default list,
    whose `list_name` is None)."""

    group: Group
    member: Member
    list_id: int | None = None
    list_name: str | None = None


async def resolve(incoming: Incoming, uow: UnitOfWork) -> Context:
    """The chat's group, created on first contact, with the sender as an active member.

    A Telegram group chat gets its own group, and whoever writes in it is a member (they are
    in the chat). A private chat acts on the group its owner last joined, or on a personal
    group; if they have left that group, it falls back to their personal one.
    """
    user = await uow.groups.touch_user(
        incoming.user_id, incoming.user_name,
        private_chat_id=incoming.chat_id if incoming.chat_kind is ChatKind.PRIVATE else None,
        # Commands ("/join CODE") say nothing about the language a person speaks.
        language=(None if incoming.text.startswith("/") or not incoming.text.strip()
                  else detect_language(incoming.text, incoming.language_hint)),
    )
    if user.last_language is None and incoming.language_hint:
        user.last_language = detect_language("", incoming.language_hint)
    # Locks in one order everywhere (chat, then group, then user) so that transactions
    # wait for each other and never deadlock. The chat's lock makes two first messages
    # of a new chat create one group, not two.
    await uow.groups.lock_chat(incoming.chat_id)
    chat = await uow.groups.chat(incoming.chat_id)
    if incoming.chat_kind is ChatKind.GROUP:
        if chat is None:
            group = await uow.groups.create_group(
                incoming.chat_title or "Shopping list", GroupKind.GROUP, None)
            await uow.groups.bind_chat(incoming.chat_id, group.id, "group")
        else:
            group = await _locked_group(uow, chat.group_id)
        member = await uow.groups.add_member(group.id, incoming.user_id)
        return Context(group=group, member=member)

    group_or_none = await _locked_group(uow, chat.group_id) if chat else None
    member_or_none = (await uow.groups.active_member(group_or_none.id, incoming.user_id)
                      if group_or_none else None)
    if group_or_none is None or member_or_none is None:
        personal = await uow.groups.personal_group(incoming.user_id)
        if personal is None:
            personal = await uow.groups.create_group(
                incoming.user_name or "My list", GroupKind.PERSONAL, None)
        else:
            await uow.groups.lock(personal.id)
        group_or_none = personal
        member_or_none = await uow.groups.add_member(personal.id, incoming.user_id,
                                                             MemberRole.OWNER)
        await uow.groups.bind_chat(incoming.chat_id, personal.id, "private")
    return Context(group=group_or_none, member=member_or_none)


async def _locked_group(uow: UnitOfWork, group_id: int) -> Group:
    """The group, once this transaction holds its lock: everything read after this sees
    the last committed change of any other writer to the same group."""
    await uow.groups.lock(group_id)
    group = await uow.groups.get(group_id)
    assert group is not None
    return group
