"""Button presses: `PRESS_HANDLERS` is the single table from a kind of button to its handler.

`bot/` decodes a press's callback data (`handlers.buttons.decode`), looks its kind up here and
calls the handler inside the update's transaction, as it does with `handlers.HANDLERS` for an
intent. For the kinds in `ADMIN_CHECKED_PRESSES` it first asks Telegram whether the presser
administers the list's group chat (outside any transaction) and passes the answer in `Press`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from db.store import UnitOfWork
from handlers import HANDLERS
from handlers.buttons import (
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
)
from handlers.common import resolve
from handlers.export import forget_group
from handlers.group import remove_member
from handlers.items import (
    answer_question,
    handle_clear_list,
    handle_partial_completion,
    list_reply,
    tick_item,
    undo_action,
)
from handlers.lists import answer_list_question, switch_to
from handlers.recipes import add_dish, add_offer
from handlers.reply import Reply
from handlers.suggestions import add_suggested, quick_add
from router.entities import extract
from router.layout import retype
from router.types import ChatKind, Entities, Incoming, Intent, Routed, Source

__all__ = ["ADMIN_CHECKED_PRESSES", "PRESS_HANDLERS", "Press", "PressHandler", "Pressed"]


@dataclass(frozen=True, slots=True)
class Press:
    """One press as the handlers see it.

    Attributes:
        incoming: the presser, in the chat; its text is the message the bot answered.
        lang: the language to answer in.
        admin: for ADMIN_CHECKED_PRESSES, whether the presser administers the list's group
            chat (asked of Telegram just now; None when it could not say).
        store_fallbacks: keep a "did you mean" choice as a training example.
    """

    incoming: Incoming
    lang: str
    admin: bool | None = None
    store_fallbacks: bool = True

    @property
    def private(self) -> bool:
        """Whether the press is in a private chat (the list is then read by one person)."""
        return self.incoming.chat_kind is ChatKind.PRIVATE


# The reply, and the routing behind it when the press acted as an intent (logged like one).
Pressed = tuple[Reply, Routed | None]


async def press_tick(press: Press, button: TickItem, uow: UnitOfWork) -> Pressed:
    """Tick a line of the list message as bought."""
    ctx = await resolve(press.incoming, uow)
    return await tick_item(ctx, uow, press.lang, press.incoming.user_id, button.item_id,
                           private=press.private), None


async def press_undo(press: Press, button: UndoAction, uow: UnitOfWork) -> Pressed:
    """Take back the change the button was under; what happened shows as the press's notice
    too."""
    ctx = await resolve(press.incoming, uow)
    reply = await undo_action(ctx, uow, press.lang, press.incoming.user_id, button.action_id)
    return replace(reply, toast=reply.key), None


async def press_remove_member(press: Press, button: RemoveMember, uow: UnitOfWork) -> Pressed:
    """An admin's press on a member's remove button."""
    return await remove_member(press.incoming, uow, press.lang, None, button.user_id,
                               press.admin), None


async def press_pick(press: Press, button: PickIntent, uow: UnitOfWork) -> Pressed:
    """A "did you mean" choice: the original message handled as the chosen intent."""
    await resolve(press.incoming, uow)
    if button.intent is None:
        return Reply("not_understood", press.lang, edit=True), None
    intent = button.intent
    # The message may have been typed on the wrong keyboard layout (router/layout.py).
    text = retype(press.incoming.text) or press.incoming.text
    original = replace(press.incoming, forwarded=False, text=text)
    routed = Routed(original, (intent,), (extract(intent, text),), 1.0, True,
                    Source.USER, press.lang, reason="picked by the user")
    if press.store_fallbacks:
        chat = await uow.groups.chat(original.chat_id)
        await uow.log.add_fallback(text, press.lang, [], [intent.value], "user",
                                   group_id=chat.group_id if chat is not None else None)
    reply = await HANDLERS[intent](routed, uow)
    return replace(reply, edit=True), routed


async def press_add_dish(press: Press, button: AddDishItems, uow: UnitOfWork) -> Pressed:
    """Add a catalog dish's ingredients, all or one."""
    routed = Routed(press.incoming, (Intent.RECIPE_SEARCH,), (Entities(),), 1.0, True,
                    Source.USER, press.lang)
    which = "*" if button.index is None else str(button.index)
    return await add_dish(routed, uow, button.dish_id, which), routed


async def press_add_offer(press: Press, button: AddOfferItems, uow: UnitOfWork) -> Pressed:
    """Add a recipe link's ingredients, all or one."""
    routed = Routed(press.incoming, (Intent.RECIPE_URL,), (Entities(),), 1.0, True,
                    Source.USER, press.lang)
    which = "*" if button.index is None else str(button.index)
    return await add_offer(routed, uow, button.offer_id, which), routed


async def press_answer_which(press: Press, button: AnswerWhich, uow: UnitOfWork) -> Pressed:
    """An answer to "which line did you mean?"."""
    ctx = await resolve(press.incoming, uow)
    return await answer_question(ctx, uow, press.lang, press.incoming.user_id,
                                 button.question_id, str(button.choice)), None


async def press_refresh(press: Press, button: RefreshList, uow: UnitOfWork) -> Pressed:
    """Show the list again, in place."""
    ctx = await resolve(press.incoming, uow)
    return await list_reply(ctx, uow, press.lang, edit=True, private=press.private), None


async def press_confirm_clear(press: Press, button: ConfirmClear,
                              uow: UnitOfWork) -> Pressed:
    """Yes to clearing the list, or to marking all but some bought; for the latter the items
    come from the message the question answered."""
    intent = Intent.PARTIAL_COMPLETION if button.partial else Intent.CLEAR_LIST
    routed = Routed(press.incoming, (intent,), (extract(intent, press.incoming.text),), 1.0,
                    True, Source.USER, press.lang, confirmed=True)
    handler = handle_partial_completion if button.partial else handle_clear_list
    return replace(await handler(routed, uow), edit=True), routed


async def press_confirm_forget(press: Press, button: ConfirmForget,
                               uow: UnitOfWork) -> Pressed:
    """Yes to forgetting the group; who may is checked again."""
    return await forget_group(press.incoming, uow, press.lang, press.admin,
                              button.group_id), None


async def press_add_suggested(press: Press, button: AddSuggested,
                              uow: UnitOfWork) -> Pressed:
    """Add the item a suggestion from habit named; the suggestion becomes the answer."""
    ctx = await resolve(press.incoming, uow)
    return await add_suggested(ctx, press.incoming, uow, press.lang,
                               button.suggestion_id), None


async def press_quick_add(press: Press, button: QuickAdd, uow: UnitOfWork) -> Pressed:
    """An empty list's quick add: that line's item again."""
    ctx = await resolve(press.incoming, uow)
    return await quick_add(ctx, press.incoming, uow, press.lang, button.item_id), None


async def press_use_list(press: Press, button: UseList, uow: UnitOfWork) -> Pressed:
    """Switch the presser to one of the group's lists and show it in place."""
    ctx = await resolve(press.incoming, uow)
    return await switch_to(ctx, uow, press.lang, button.list_id, private=press.private,
                           edit=True), None


async def press_answer_which_list(press: Press, button: AnswerWhichList,
                                  uow: UnitOfWork) -> Pressed:
    """An answer to "which list?"."""
    ctx = await resolve(press.incoming, uow)
    return await answer_list_question(ctx, uow, press.incoming, press.lang,
                                      button.question_id, str(button.choice)), None


async def press_cancel(press: Press, button: Cancel, uow: UnitOfWork) -> Pressed:
    """No to a question."""
    await resolve(press.incoming, uow)
    return Reply("cancelled", press.lang, edit=True), None


# A handler takes the press, its decoded button (of the kind it is listed under) and the
# update's unit of work (tests/test_buttons.py checks each one's button type).
PressHandler = Callable[[Press, Any, UnitOfWork], Awaitable[Pressed]]

PRESS_HANDLERS: dict[type[ButtonData], PressHandler] = {
    TickItem: press_tick,
    UndoAction: press_undo,
    RemoveMember: press_remove_member,
    PickIntent: press_pick,
    AddDishItems: press_add_dish,
    AddOfferItems: press_add_offer,
    AnswerWhich: press_answer_which,
    RefreshList: press_refresh,
    ConfirmClear: press_confirm_clear,
    ConfirmForget: press_confirm_forget,
    AddSuggested: press_add_suggested,
    QuickAdd: press_quick_add,
    UseList: press_use_list,
    AnswerWhichList: press_answer_which_list,
    Cancel: press_cancel,
}

# Kinds whose handler needs to know whether the presser administers the list's group chat.
ADMIN_CHECKED_PRESSES: frozenset[type[ButtonData]] = frozenset({RemoveMember, ConfirmForget})
