"""Per-member notification settings."""

from __future__ import annotations

from db.store import UnitOfWork
from handlers.common import resolve
from handlers.reply import Reply
from router.types import Routed

__all__ = ["handle_notification_settings", "set_notifications"]


async def set_notifications(msg: Routed, uow: UnitOfWork, state: str) -> Reply:
    """Turn the sender's digests on or off in this group, or tell them the state."""
    ctx = await resolve(msg.incoming, uow)
    if state == "on":
        ctx.member.notify = True
        return Reply("notify_on", msg.lang, {"title": ctx.group.title})
    if state == "off":
        ctx.member.notify = False
        return Reply("notify_off", msg.lang, {"title": ctx.group.title})
    return Reply("notify_status_on" if ctx.member.notify else "notify_status_off", msg.lang,
                 {"title": ctx.group.title})


async def handle_notification_settings(msg: Routed, uow: UnitOfWork) -> Reply:
    """NOTIFICATION_SETTINGS with its `state` entity (status when absent)."""
    return await set_notifications(msg, uow, msg.entities.state or "status")
