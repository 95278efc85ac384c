"""Calling handlers directly, as the bot layer would: a message, its routed form, one
committed handler run, and the open list afterwards."""

from __future__ import annotations

from db.store import UnitOfWorkFactory
from handlers import HANDLERS
from handlers.reply import Reply
from router.entities import extract
from router.normalize import detect_language
from router.types import ChatKind, Entities, Incoming, Intent, Routed, Source

FAMILY_CHAT = -100200300
DANA, YOSSI, SAMIR = 11, 22, 33


def message(text: str, user_id: int = DANA, chat_id: int = FAMILY_CHAT,
            kind: ChatKind = ChatKind.GROUP, name: str | None = None,
            forwarded: bool = False) -> Incoming:
    """A message as the bot layer would build it."""
    names = {DANA: "Dana", YOSSI: "Yossi", SAMIR: "Samir"}
    return Incoming(chat_id=chat_id, user_id=user_id, text=text, chat_kind=kind,
                    user_name=name or names.get(user_id, f"user{user_id}"), addressed=True,
                    forwarded=forwarded, chat_title="Family")


def routed(text: str, intent: Intent, entities: Entities | None = None,
           **kwargs: object) -> Routed:
    """The routed message a confident model would produce for `text`."""
    incoming = message(text, **kwargs)  # type: ignore[arg-type]
    return Routed(incoming, (intent,), (entities or extract(intent, text),), 0.99, True,
                  Source.MODEL, detect_language(text))


async def handle(factory: UnitOfWorkFactory, msg: Routed) -> Reply:
    """Run the intent's handler in one committed transaction, as the bot does."""
    async with factory() as uow:
        reply = await HANDLERS[msg.intent](msg, uow)
        await uow.commit()
    return reply


async def open_items(factory: UnitOfWorkFactory,
                     chat_id: int = FAMILY_CHAT) -> list[tuple[str, float | None, str | None]]:
    """The open items of a chat's list as (name, quantity, unit)."""
    async with factory() as uow:
        group = await uow.groups.group_of_chat(chat_id)
        assert group is not None
        rows = await uow.items.open_items(group.id)
        return [(row.name, row.quantity, row.unit) for row in rows]
