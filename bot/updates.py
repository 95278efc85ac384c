"""From Telegram's updates to the bot's plain `Incoming`: who speaks where, whether to the bot,
whether the message is a forward or old; a membership change as the handlers see it."""

from __future__ import annotations

import re
from datetime import timedelta

from telegram import ChatMember, ChatMemberUpdated, Message, Update, User
from telegram.constants import ChatType

from db.store import as_utc, utcnow
from router.types import ChatKind, Incoming

__all__ = ["STALE_AFTER", "display_name", "incoming_from_update", "is_member",
           "member_incoming"]


# A message older than this is treated like a forward: destructive intents ask first.
STALE_AFTER = timedelta(hours=1)


def incoming_from_update(update: Update, bot_id: int, bot_username: str) -> Incoming | None:
    """The plain `Incoming` of a message or button press; None for anything else."""
    message = update.effective_message
    chat = update.effective_chat
    user = update.effective_user
    if message is None or chat is None or user is None:
        return None
    query = update.callback_query
    text_value = ""
    if query is not None:
        # A press on "did you mean": the message the bot answered carries the user's words.
        replied = message.reply_to_message if isinstance(message, Message) else None
        text_value = (replied.text or "") if replied is not None else ""
    else:
        text_value = message.text or ""
    mention = f"@{bot_username}".lower() if bot_username else None
    addressed = chat.type == ChatType.PRIVATE
    if mention and mention in text_value.lower():
        addressed = True
        text_value = re.sub(re.escape(mention), " ", text_value, flags=re.IGNORECASE).strip()
    if query is None and message.reply_to_message is not None:
        author = message.reply_to_message.from_user
        addressed = addressed or (author is not None and author.id == bot_id)
    old = message.date is not None and utcnow() - as_utc(message.date) > STALE_AFTER
    forwarded = query is None and (getattr(message, "forward_origin", None) is not None or old)
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or (
        user.username or str(user.id))
    return Incoming(
        chat_id=chat.id,
        user_id=user.id,
        text=text_value,
        chat_kind=ChatKind.PRIVATE if chat.type == ChatType.PRIVATE else ChatKind.GROUP,
        user_name=name,
        language_hint=user.language_code,
        update_id=update.update_id,
        message_id=message.message_id,
        addressed=addressed or query is not None,
        forwarded=forwarded,
        chat_title=chat.title,
    )


def display_name(user: User) -> str:
    """How a Telegram user is named in replies."""
    return user.full_name or user.username or str(user.id)


def member_incoming(update: Update, chat_id: int, user: User,
                     title: str | None) -> Incoming:
    """A membership change as the handlers see it: the member speaking, saying nothing."""
    return Incoming(chat_id=chat_id, user_id=user.id, text="", chat_kind=ChatKind.GROUP,
                    user_name=display_name(user), language_hint=user.language_code,
                    update_id=update.update_id, addressed=False, chat_title=title)


def is_member(change: ChatMemberUpdated) -> tuple[bool, bool]:
    """Whether the user was, and is, in the chat (a restricted user may be either)."""
    def inside(member: ChatMember) -> bool:
        if member.status == ChatMember.RESTRICTED:
            return bool(getattr(member, "is_member", False))
        return member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER)
    return inside(change.old_chat_member), inside(change.new_chat_member)
