"""Value types shared by the router, the handlers and the bot.

A leaf module: standard library only, so every layer can import it without pulling in
onnxruntime, SQLAlchemy or Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "ChatKind",
    "DishLookup",
    "Entities",
    "Incoming",
    "Intent",
    "Item",
    "RecipeResult",
    "Routed",
    "Scored",
    "Source",
]


class Intent(StrEnum):
    """The intents of intents.md, then those appended after it (docs/ARCHITECTURE.md's
    checklist); the declaration order is the model's label id order."""

    GROCERY_REQUEST = "GROCERY_REQUEST"
    RECIPE_URL = "RECIPE_URL"
    LIST_QUERY = "LIST_QUERY"
    CLEAR_LIST = "CLEAR_LIST"
    REMOVE_ITEM = "REMOVE_ITEM"
    PARTIAL_COMPLETION = "PARTIAL_COMPLETION"
    GROUP_INFO = "GROUP_INFO"
    GET_INVITE_CODE = "GET_INVITE_CODE"
    CREATE_INVITE = "CREATE_INVITE"
    RENAME_GROUP = "RENAME_GROUP"
    LEAVE_GROUP = "LEAVE_GROUP"
    NOTIFICATION_SETTINGS = "NOTIFICATION_SETTINGS"
    REVOKE_INVITE = "REVOKE_INVITE"
    RECIPE_SEARCH = "RECIPE_SEARCH"
    UPDATE_QUANTITY = "UPDATE_QUANTITY"
    BUG_REPORT = "BUG_REPORT"
    OTHER = "OTHER"
    # 17: create, switch to, show, rename or delete a named list (handlers/lists.py).
    LIST_MANAGE = "LIST_MANAGE"
    # 18: who added an item, when it was last bought, what was bought in a period
    # (handlers/history.py; entities `item`, `period`).
    HISTORY_QUERY = "HISTORY_QUERY"


class Source(StrEnum):
    """Who decided the intent."""

    RULE = "rule"
    MODEL = "model"
    LLM = "llm"
    USER = "user"


class ChatKind(StrEnum):
    """The kind of chat a message came from."""

    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Item:
    """One list item as the user wrote it: a base noun phrase, an amount and a unit, and a
    note written beside it (a brand, a size, "3%", "low fat"), or None."""

    name: str
    quantity: float | None = None
    unit: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The intents.md shape: `{name, quantity, unit}`, whole numbers as ints; `note`
        only when the item has one."""
        quantity: float | int | None = self.quantity
        if quantity is not None and float(quantity).is_integer():
            quantity = int(quantity)
        out: dict[str, Any] = {"name": self.name, "quantity": quantity, "unit": self.unit}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class Entities:
    """The entities of one intent (intents.md); absent ones stay None or empty."""

    items: tuple[Item, ...] = ()
    new_name: str | None = None
    state: str | None = None
    dish: str | None = None
    url: str | None = None
    # HISTORY_QUERY: the item asked about and the period ("today", "yesterday", "week",
    # "month"; router/history.py).
    item: str | None = None
    period: str | None = None
    # LIST_MANAGE: what to do with a list (`create`, `switch`, `show`, `rename`, `delete`)
    # and which list (its old name when renaming; `new_name` is the new one).
    # GROCERY_REQUEST: `list_name` is the list the items go on, when the message names one.
    action: str | None = None
    list_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Only the keys that carry something, as `shopbot classify` prints them."""
        out: dict[str, Any] = {}
        if self.items:
            out["items"] = [item.to_json() for item in self.items]
        for key in ("new_name", "state", "dish", "url", "item", "period", "action",
                    "list_name"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class RecipeResult:
    """What reading a recipe link gave (router/recipes.py): a title and items, or an error
    message key."""

    title: str = ""
    items: tuple[Item, ...] = ()
    error: str | None = None
    lines: tuple[str, ...] = field(default=(), compare=False)
    # Read from the page's text by the LLM: the page had no schema.org recipe.
    from_text: bool = False


@dataclass(frozen=True, slots=True)
class DishLookup:
    """What the recipe step found for a dish asked about (RECIPE_SEARCH): the catalog dish's
    id; else the closest catalog dishes' ids and, when the LLM was asked, its ingredients."""

    name: str
    dish_id: str | None = None
    closest: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as the router sees it, free of Telegram types.

    Attributes:
        addressed: the message was meant for the bot (a mention, a reply to the bot, a
            private chat); in groups the bot stays quiet about anything else it is unsure of.
        forwarded: a forward or a very old message; destructive intents then ask first.
    """

    chat_id: int
    user_id: int
    text: str
    chat_kind: ChatKind = ChatKind.PRIVATE
    user_name: str = ""
    language_hint: str | None = None
    update_id: int | None = None
    message_id: int | None = None
    addressed: bool = False
    forwarded: bool = False
    chat_title: str | None = None


@dataclass(frozen=True, slots=True)
class Scored:
    """One label with its probability."""

    label: Intent
    score: float


@dataclass(frozen=True, slots=True)
class Routed:
    """The router's verdict; always this one shape, whoever decided.

    `intents` lists every intent the message asks for in the user's order, with
    `entities_list` beside it; `intent` and `entities` are the first of each. `routed` is
    False when the bot would not act on its own (unsure model and no usable LLM answer).
    `part_texts` holds the words of each request when the message was cut into several
    (empty otherwise: every intent then reads the whole text); `texts` gives them either way.

    Attributes:
        typed: the text as typed, when it was Hebrew typed on the English keyboard layout
            (router/layout.py; `incoming.text` is then the Hebrew meant); the reply shows it.
        confirmed: the user already said yes to this (a destructive intent asks first).
        recipe: the recipe link's page, read by the recipe step (router/recipes.py) before
            the transaction; None when it did not run.
        dish: the dish asked about, looked up by the same step; None when it did not run.
    """

    incoming: Incoming
    intents: tuple[Intent, ...]
    entities_list: tuple[Entities, ...]
    confidence: float
    routed: bool
    source: Source
    lang: str
    top: tuple[Scored, ...] = ()
    reason: str = ""
    part_texts: tuple[str, ...] = ()
    typed: str | None = None
    confirmed: bool = False
    recipe: RecipeResult | None = field(default=None, compare=False)
    dish: DishLookup | None = field(default=None, compare=False)

    @property
    def intent(self) -> Intent:
        """The first intent the message asks for."""
        return self.intents[0]

    @property
    def entities(self) -> Entities:
        """The entities of the first intent."""
        return self.entities_list[0] if self.entities_list else Entities()

    @property
    def texts(self) -> tuple[str, ...]:
        """The words of each request, in order (the whole text for each when not cut)."""
        if len(self.part_texts) == len(self.intents):
            return self.part_texts
        return tuple(self.incoming.text for _ in self.intents)

    def single(self, index: int) -> Routed:
        """The routed message narrowed to its index-th request, for a compound message.

        When the message was cut into requests, the narrowed one reads only its own words
        (a question it asks, say "mark 3 items bought?", is about those words alone).
        """
        incoming = self.incoming
        if len(self.part_texts) == len(self.intents) and len(self.intents) > 1:
            incoming = replace(incoming, text=self.part_texts[index])
        return Routed(
            incoming=incoming,
            intents=(self.intents[index],),
            entities_list=(self.entities_list[index],),
            confidence=self.confidence,
            routed=self.routed,
            source=self.source,
            lang=self.lang,
            top=self.top,
            reason=self.reason,
            typed=self.typed,
            confirmed=self.confirmed,
            recipe=self.recipe,
            dish=self.dish,
        )
