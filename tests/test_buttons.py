"""Buttons as typed values: the callback data of every button ever sent still reads as the
same action, forged data reads as nothing, and every kind reaches exactly one handler."""

from __future__ import annotations

import typing

import pytest

from handlers.buttons import (
    CALLBACK_DATA_LIMIT,
    AddDishItems,
    AddOfferItems,
    AddSuggested,
    AnswerWhich,
    AnswerWhichList,
    ButtonData,
    Cancel,
    ConfirmClear,
    ConfirmForget,
    PickIntent,
    QuickAdd,
    RefreshList,
    RemoveMember,
    TickItem,
    UndoAction,
    UseList,
    decode,
    encode,
)
from handlers.presses import PRESS_HANDLERS
from router.types import Intent

# Callback data as earlier versions of the bot wrote it (git log -p: f"t:{item_id}", "c:clear",
# f"{FORGET_PREFIX}:{ctx.group.id}", …), with the action each press must still take.
SENT_BEFORE: list[tuple[str, ButtonData]] = [
    ("t:12", TickItem(12)),
    ("u:7", UndoAction(7)),
    ("k:123456789", RemoveMember(123456789)),
    ("p:GROCERY_REQUEST", PickIntent(Intent.GROCERY_REQUEST)),
    ("p:none", PickIntent(None)),
    ("r:shakshuka:*", AddDishItems("shakshuka", None)),
    ("r:lentil_soup:3", AddDishItems("lentil_soup", 3)),
    ("o:41:*", AddOfferItems(41, None)),
    ("o:41:19", AddOfferItems(41, 19)),
    ("iq:5:0", AnswerWhich(5, 0)),
    ("iq:5:new", AnswerWhich(5, "new")),
    ("iq:5:all", AnswerWhich(5, "all")),
    ("l", RefreshList()),
    ("c:clear", ConfirmClear(partial=False)),
    ("c:partial", ConfirmClear(partial=True)),
    ("f:3", ConfirmForget(3)),
    ("sg:9", AddSuggested(9)),
    ("qa:88", QuickAdd(88)),
    ("ls:0", UseList(0)),
    ("ls:12", UseList(12)),
    ("lq:4:1", AnswerWhichList(4, 1)),
    ("lq:4:new", AnswerWhichList(4, "new")),
    ("x", Cancel()),
]


@pytest.mark.parametrize(("data", "button"), SENT_BEFORE)
def test_every_button_already_in_a_chat_reads_as_the_same_action(
        data: str, button: ButtonData) -> None:
    assert decode(data) == button
    assert encode(button) == data


def test_every_kind_of_button_is_among_those_checked() -> None:
    assert {type(button) for _data, button in SENT_BEFORE} == set(typing.get_args(ButtonData))


def test_a_choice_of_an_intent_that_no_longer_exists_reads_as_none_of_these() -> None:
    assert decode("p:SOME_OLD_INTENT") == PickIntent(None)


@pytest.mark.parametrize("data", [
    "", "t", "t:", "t:-1", "t:²", "t:١٢", "t:" + "9" * 19, "t:12 ", " t:12", "t:1:2",
    "u:" + "9" * 30, "o:" + "9" * 30 + ":all", "o:4:all", "o:4:1234", "r:Shakshuka:*",
    "r:" + "a" * 41 + ":*", "iq:" + "7" * 25 + ":1", "iq:5:some",
    "lq:4:all", "ls:-1", "c:maybe", "x:1", "l:2", "p:", "p:grocery_request", "zz:1",
    "k:" + "1" * 100,
])
def test_forged_or_corrupt_data_reads_as_no_button(data: str) -> None:
    assert decode(data) is None


def test_the_largest_ids_fit_telegrams_64_bytes() -> None:
    big = 10**18 - 1
    for button in (AnswerWhich(big, 999), AddOfferItems(big, 999), AddDishItems("d" * 40, 999),
                   TickItem(big), ConfirmForget(big), AddSuggested(big), QuickAdd(big)):
        assert len(encode(button).encode()) <= CALLBACK_DATA_LIMIT
        assert decode(encode(button)) == button


def test_a_button_that_cannot_be_read_back_is_never_sent() -> None:
    with pytest.raises(ValueError):
        encode(TickItem(10**19))
    with pytest.raises(ValueError):
        encode(AddDishItems("Not An Id", None))


def test_every_kind_of_button_has_one_handler_that_takes_that_kind() -> None:
    assert set(PRESS_HANDLERS) == set(typing.get_args(ButtonData))
    for kind, handler in PRESS_HANDLERS.items():
        assert typing.get_type_hints(handler)["button"] is kind
