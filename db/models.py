"""The store's tables as SQLAlchemy 2.0 mapped classes.

Rows change state instead of disappearing (items are bought or removed, invites revoked,
members leave), so undo works and nothing a user added is ever lost.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Action",
    "ActionKind",
    "Base",
    "BugReport",
    "Chat",
    "FallbackDecision",
    "Group",
    "GroupKind",
    "InboxUpdate",
    "Invite",
    "Item",
    "ItemQuestion",
    "ItemStatus",
    "JoinAttempt",
    "Member",
    "MemberRole",
    "ProcessedUpdate",
    "QuestionKind",
    "RecipeOffer",
    "RouteLog",
    "ShoppingList",
    "Suggestion",
    "User",
]

# SQLite has no 64-bit autoincrement BIGINT primary key; Telegram ids need 64 bits.
Id = BigInteger().with_variant(Integer(), "sqlite")


class ItemStatus(StrEnum):
    """Where a list line stands. Stored as the value, the strings the column always held."""

    OPEN = "open"
    BOUGHT = "bought"
    REMOVED = "removed"


class GroupKind(StrEnum):
    """Whose list a group is: a Telegram group's, or one person's (from a private chat)."""

    GROUP = "group"
    PERSONAL = "personal"


class MemberRole(StrEnum):
    """A member's standing in a list: the owner of a personal list, or a member."""

    OWNER = "owner"
    MEMBER = "member"


class ActionKind(StrEnum):
    """What a recorded change did (undo reads its inverse; a digest names it by this value,
    `digest.<kind>` in the catalogs)."""

    ADD = "add"
    REMOVE = "remove"
    UPDATE = "update"
    TICK = "tick"
    CLEAR = "clear"
    PARTIAL = "partial"
    UNDO = "undo"
    LIST_CREATE = "list_create"
    LIST_RENAME = "list_rename"
    LIST_DELETE = "list_delete"


class QuestionKind(StrEnum):
    """What a "which one?" question will do with the chosen line(s) or list."""

    ADD = "add"
    REMOVE = "remove"
    KEEP = "keep"
    UPDATE = "update"
    LIST = "list"
    BOUGHT = "bought"  # tick as bought ("bought milk" said in words)


class Base(DeclarativeBase):
    """Declarative base; every timestamp is timezone-aware UTC."""

    type_annotation_map = {datetime: DateTime(timezone=True)}


class Group(Base):
    """A household: one shared list and its members."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # a GroupKind
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jerusalem")
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime]
    digest_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Suggestions from habit (migration 0009, bot/suggestions.py): whether the group wants
    # them, and when its habits are next looked at (NULL: at the next tick).
    suggestions: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    suggest_due_at: Mapped[datetime | None] = mapped_column(nullable=True)

    # Only groups with a digest pending (migration 0006): the digest tick's look stays small.
    __table_args__ = (Index("ix_groups_digest_due", "digest_due_at",
                            sqlite_where=text("digest_due_at IS NOT NULL"),
                            postgresql_where=text("digest_due_at IS NOT NULL")),)


class Chat(Base):
    """A Telegram chat and the group its messages act on.

    A group chat acts on its own group; a private chat on the member's personal group
    until they join another one with an invite code.
    """

    __tablename__ = "chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    awaiting: Mapped[str | None] = mapped_column(String(32), nullable=True)
    awaiting_user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[datetime]
    # The one question the bot last asked here and whom (migration 0005; bot/dispatch.py).
    question: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Set when the bot can no longer write here: it was removed from the group, or the group
    # moved to a supergroup (a new chat id). Nothing is sent to a gone chat.
    gone_at: Mapped[datetime | None] = mapped_column(nullable=True)


class User(Base):
    """A Telegram user the bot has met."""

    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    display_name: Mapped[str] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    last_language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    private_chat_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime]


class Member(Base):
    """A user in a group, with a per-member notification setting."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    role: Mapped[str] = mapped_column(String(16), default=MemberRole.MEMBER.value)
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None] = mapped_column(nullable=True)
    notified_through: Mapped[int] = mapped_column(Integer, default=0)
    # The list this member's words act on in this group (migration 0008): 0 is the group's
    # default list, else a `lists` row; each member switches for themselves.
    list_id: Mapped[int] = mapped_column(Id, default=0, server_default="0")
    # "code" for someone who joined with an invite code (not through the Telegram group).
    joined_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The admin who removed this member; an invite code older than that removal no longer
    # lets them back in.
    removed_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Item(Base):
    """One line of a list; its status changes, the row stays.

    `name` is the words its author wrote; `concept` what they stand for, one identity in
    every language (a lexicon concept, or `~` and the loose words for anything else); `note`
    a brand, size or percentage written beside it. A list has at most one open line per
    concept, unit and note (`uq_items_open_line`, over `unit_key` and `note_key`: '' for
    none, since NULL never equals NULL in a unique index), so concurrent adds of the same
    thing meet on one row instead of making two. `list_id` names the list (0: the default).
    """

    __tablename__ = "items"
    __table_args__ = (Index("ix_items_group_status", "group_id", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    # 0: the group's default list (every line before migration 0008); else a `lists` row.
    list_id: Mapped[int] = mapped_column(Id, default=0, server_default="0")
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    concept: Mapped[str] = mapped_column(String(200), default="", server_default="")
    note: Mapped[str | None] = mapped_column(String(100), nullable=True)
    quantity: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str | None] = mapped_column(String(32), nullable=True)
    unit_key: Mapped[str] = mapped_column(String(32), default="", server_default="")
    note_key: Mapped[str] = mapped_column(String(100), default="", server_default="")
    category: Mapped[str] = mapped_column(String(32), default="other")
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.OPEN.value)
    added_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# Plain columns, not expressions: SQLite's batch migrations rebuild a table with the indexes
# they can reflect, and an expression index is not one of them.
OPEN_LINE_KEY = (Item.group_id, Item.list_id, Item.concept, Item.unit_key, Item.note_key)
Index("uq_items_open_line", *OPEN_LINE_KEY, unique=True,
      sqlite_where=Item.status == "open", postgresql_where=Item.status == "open")


class ShoppingList(Base):
    """A named list of a group ("pharmacy", "party"); the group's default list is no row.

    `key` is the name normalized; `concept` what it names across languages (the same
    pharmacy list is asked for in Hebrew and in English), or `~` and the key. A deleted list
    keeps its row and its lines (undo brings it back); at most one live list per key.
    """

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    concept: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


Index("uq_lists_live_key", ShoppingList.group_id, ShoppingList.key, unique=True,
      sqlite_where=ShoppingList.deleted_at.is_(None),
      postgresql_where=ShoppingList.deleted_at.is_(None))


class ItemQuestion(Base):
    """A question the bot asked about list lines ("which milk?"), answered by a button.

    `payload` holds what the message asked for and the candidate lines, so the answer
    carries it out without the original message.
    """

    __tablename__ = "item_questions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Action(Base):
    """A change to a list: what happened, for digests, and how to take it back, for undo."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    # The list the change was made on (0: the default list), for digests.
    list_id: Mapped[int] = mapped_column(Id, default=0, server_default="0")
    summary: Mapped[list[Any]] = mapped_column(JSON, default=list)
    undo: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    undone_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Invite(Base):
    """An invite code: random, expiring, revocable."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class JoinAttempt(Base):
    """One /join try, for the per-user rate limit against guessing codes."""

    __tablename__ = "join_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    attempted_at: Mapped[datetime]
    success: Mapped[bool] = mapped_column(Boolean)


class ProcessedUpdate(Base):
    """Telegram update ids already handled: a redelivered update changes nothing."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime]


class InboxUpdate(Base):
    """A Telegram update stored before Telegram is told it arrived; removed once applied.

    Rows are applied in `update_id` order within a chat. A worker leases a chat's oldest
    row (`lease_owner`, `lease_until`) while it applies it, so no other worker of any
    process takes that chat meanwhile; an expired lease (a crashed worker) is taken over.
    """

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_chat_update", "chat_id", "update_id"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class BugReport(Base):
    """A user's report of a problem with the bot."""

    __tablename__ = "bug_reports"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class RouteLog(Base):
    """Who decided each message's intent (rule, model, LLM, user), for /stats."""

    __tablename__ = "route_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(8), index=True)
    intent: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]


class RecipeOffer(Base):
    """Ingredients read from a recipe link, waiting for "add all" or a pick."""

    __tablename__ = "recipe_offers"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class FallbackDecision(Base):
    """An LLM answer or a user's "did you mean" choice: training data for the next model."""

    __tablename__ = "fallback_decisions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    top: Mapped[list[Any]] = mapped_column(JSON, default=list)
    intents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    # The group the message came from (migration 0007), so /forget deletes it too.
    group_id: Mapped[int | None] = mapped_column(Id, nullable=True, index=True)


class Suggestion(Base):
    """An item suggested from habit (migration 0009). One row per group, concept and cycle
    (the purchase the cycle starts at), so an item is suggested at most once a cycle, by
    whichever process gets there first."""

    __tablename__ = "suggestions"
    __table_args__ = (UniqueConstraint("group_id", "concept", "cycle"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    concept: Mapped[str] = mapped_column(String(200))
    cycle: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    days: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
