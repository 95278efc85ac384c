"""What an inline button does, as a typed value, and its callback data on the wire.

One frozen dataclass per kind of button; `encode` writes the callback data Telegram carries,
`decode` reads it back. The wire format is the one buttons already sitting in chats were sent
with (`t:12`, `iq:7:new`, `p:none`, …), so they keep working. Callback data comes back as a
client sent it: decoding is strict (ASCII digits, bounded lengths, known words) and anything
else is None, which the bot answers as an out-of-date button, never as an error. Telegram
allows 64 bytes of callback data; every kind here stays far below it.

Which handler a kind reaches is `handlers.presses.PRESS_HANDLERS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from router.types import Intent

__all__ = [
    "CALLBACK_DATA_LIMIT",
    "AddDishItems",
    "AddOfferItems",
    "AddSuggested",
    "AnswerWhich",
    "AnswerWhichList",
    "ButtonData",
    "Cancel",
    "ConfirmClear",
    "ConfirmForget",
    "PickIntent",
    "QuickAdd",
    "RefreshList",
    "RemoveMember",
    "TickItem",
    "UndoAction",
    "UseList",
    "decode",
    "encode",
]

# Telegram's limit on an inline button's callback_data, in bytes.
CALLBACK_DATA_LIMIT = 64
# Database ids: ASCII digits that fit a signed 64-bit integer (a forged "9"*30 is no id).
_ID = r"[0-9]{1,18}"
# An index into the options of one message (at most a few dozen buttons).
_INDEX = r"[0-9]{1,3}"
# Dish ids of the catalog (handlers/data/dishes.json).
_DISH = r"[a-z0-9_]{1,40}"
# Intent labels, and labels of intents since removed (a press on one is "not understood").
_LABEL = r"[A-Z_]{1,40}"


@dataclass(frozen=True, slots=True)
class TickItem:
    """Tick one line of the list message as bought: `t:<item id>`."""

    item_id: int


@dataclass(frozen=True, slots=True)
class UndoAction:
    """Take back one recorded change: `u:<action id>`."""

    action_id: int


@dataclass(frozen=True, slots=True)
class RemoveMember:
    """An admin removes a member from the list (`/members`, `/kick`): `k:<user id>`."""

    user_id: int


@dataclass(frozen=True, slots=True)
class PickIntent:
    """A "did you mean" choice: `p:<INTENT>`, or `p:none` (None) for "none of these"."""

    intent: Intent | None


@dataclass(frozen=True, slots=True)
class AddDishItems:
    """Add a catalog dish's ingredients: `r:<dish id>:*` for all (index None), or one."""

    dish_id: str
    index: int | None


@dataclass(frozen=True, slots=True)
class AddOfferItems:
    """Add a recipe link's ingredients: `o:<offer id>:*` for all (index None), or one."""

    offer_id: int
    index: int | None


@dataclass(frozen=True, slots=True)
class AnswerWhich:
    """Answer "which line did you mean?": `iq:<question id>:<line index | new | all>`."""

    question_id: int
    choice: int | Literal["new", "all"]


@dataclass(frozen=True, slots=True)
class RefreshList:
    """Show the list again in place: `l`."""


@dataclass(frozen=True, slots=True)
class ConfirmClear:
    """Yes to "clear the list?" (`c:clear`) or to "mark all but … bought?" (`c:partial`)."""

    partial: bool


@dataclass(frozen=True, slots=True)
class ConfirmForget:
    """Yes to "forget everything about this group?": `f:<group id>`."""

    group_id: int


@dataclass(frozen=True, slots=True)
class AddSuggested:
    """Add an item suggested from the group's habits: `sg:<suggestion id>`."""

    suggestion_id: int


@dataclass(frozen=True, slots=True)
class QuickAdd:
    """An empty list's quick add, that line's item again: `qa:<item id>`."""

    item_id: int


@dataclass(frozen=True, slots=True)
class UseList:
    """Switch to one of the group's lists (0: the default list): `ls:<list id>`."""

    list_id: int


@dataclass(frozen=True, slots=True)
class AnswerWhichList:
    """Answer "which list?": `lq:<question id>:<list index | new>`."""

    question_id: int
    choice: int | Literal["new"]


@dataclass(frozen=True, slots=True)
class Cancel:
    """No to a question: `x`."""


ButtonData = (TickItem | UndoAction | RemoveMember | PickIntent | AddDishItems
              | AddOfferItems | AnswerWhich | RefreshList | ConfirmClear | ConfirmForget
              | AddSuggested | QuickAdd | UseList | AnswerWhichList | Cancel)


def _which(index: int | None) -> str:
    return "*" if index is None else str(index)


def encode(button: ButtonData) -> str:
    """The callback data of a button (at most CALLBACK_DATA_LIMIT bytes)."""
    match button:
        case TickItem(item_id):
            data = f"t:{item_id}"
        case UndoAction(action_id):
            data = f"u:{action_id}"
        case RemoveMember(user_id):
            data = f"k:{user_id}"
        case PickIntent(intent):
            data = f"p:{intent.value if intent is not None else 'none'}"
        case AddDishItems(dish_id, index):
            data = f"r:{dish_id}:{_which(index)}"
        case AddOfferItems(offer_id, index):
            data = f"o:{offer_id}:{_which(index)}"
        case AnswerWhich(question_id, choice):
            data = f"iq:{question_id}:{choice}"
        case RefreshList():
            data = "l"
        case ConfirmClear(partial):
            data = f"c:{'partial' if partial else 'clear'}"
        case ConfirmForget(group_id):
            data = f"f:{group_id}"
        case AddSuggested(suggestion_id):
            data = f"sg:{suggestion_id}"
        case QuickAdd(item_id):
            data = f"qa:{item_id}"
        case UseList(list_id):
            data = f"ls:{list_id}"
        case AnswerWhichList(question_id, choice):
            data = f"lq:{question_id}:{choice}"
        case Cancel():
            data = "x"
    if len(data.encode()) > CALLBACK_DATA_LIMIT or decode(data) != button:
        raise ValueError(f"{button!r} cannot be sent as a button")
    return data


def _index(text: str) -> int | None:
    return None if text == "*" else int(text)


def _choice(text: str) -> int | Literal["new", "all"]:
    if text == "new":
        return "new"
    if text == "all":
        return "all"
    return int(text)


def _new_or(text: str) -> int | Literal["new"]:
    return "new" if text == "new" else int(text)


def _intent(label: str) -> Intent | None:
    # A label no longer an intent reads as "none of these".
    return Intent(label) if label in Intent.__members__ else None


# Each wire format with the button it reads as. The patterns admit ASCII digits only, so
# int() never sees "²" or an Arabic-Indic digit (U+0661), and at most 18 of them, so an id
# fits the database's BIGINT.
_FORMATS: tuple[tuple[re.Pattern[str], Callable[[tuple[str, ...]], ButtonData]], ...] = tuple(
    (re.compile(pattern), read) for pattern, read in (
        (rf"t:({_ID})", lambda g: TickItem(int(g[0]))),
        (rf"u:({_ID})", lambda g: UndoAction(int(g[0]))),
        (rf"k:({_ID})", lambda g: RemoveMember(int(g[0]))),
        (rf"p:({_LABEL}|none)", lambda g: PickIntent(_intent(g[0]))),
        (rf"r:({_DISH}):(\*|{_INDEX})", lambda g: AddDishItems(g[0], _index(g[1]))),
        (rf"o:({_ID}):(\*|{_INDEX})", lambda g: AddOfferItems(int(g[0]), _index(g[1]))),
        (rf"iq:({_ID}):({_INDEX}|new|all)", lambda g: AnswerWhich(int(g[0]), _choice(g[1]))),
        (r"l", lambda g: RefreshList()),
        (r"c:(clear|partial)", lambda g: ConfirmClear(g[0] == "partial")),
        (rf"f:({_ID})", lambda g: ConfirmForget(int(g[0]))),
        (rf"sg:({_ID})", lambda g: AddSuggested(int(g[0]))),
        (rf"qa:({_ID})", lambda g: QuickAdd(int(g[0]))),
        (rf"ls:({_ID})", lambda g: UseList(int(g[0]))),
        (rf"lq:({_ID}):({_INDEX}|new)", lambda g: AnswerWhichList(int(g[0]), _new_or(g[1]))),
        (r"x", lambda g: Cancel()),
    ))


def decode(data: str) -> ButtonData | None:
    """The button a callback data names; None for anything a current or earlier version of
    the bot never sent (a stale, forged or corrupt press)."""
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    for pattern, read in _FORMATS:
        match = pattern.fullmatch(data)
        if match is not None:
            return read(match.groups())
    return None
