"""Telegram's flood limits, kept before Telegram has to enforce them.

Telegram lets a bot send about 30 messages a second in all and 20 a minute to one group, and
answers anything above that with 429 and `retry_after`. PTB's `AIORateLimiter` (a leaky
bucket per bot and one per group, from aiolimiter) holds every request that names a chat
until it fits, and waits out a `retry_after` that still arrives before trying again, pausing
all requests meanwhile, as Telegram asks.
"""

from __future__ import annotations

from telegram.constants import FloodLimit
from telegram.ext import AIORateLimiter

__all__ = ["RETRIES", "rate_limiter"]

# Tries after a 429 before the request fails (and the update's error handler runs).
RETRIES = 3


def rate_limiter(enabled: bool, workers: int = 1) -> AIORateLimiter:
    """The limiter for one bot process.

    Args:
        enabled: keep Telegram's limits (SHOPBOT_RATE_LIMIT). Off, nothing is throttled (a
            local Bot API server has no limits), but a 429 is still waited out and retried.
        workers: processes sending for this bot at once (SHOPBOT_WORKERS). The per-bot rate
            is theirs to share, so each takes its part; a group's messages come from the
            worker that holds the group's updates, so each keeps the whole per-group rate,
            and the rare 429 when two workers meet in one group is waited out.
    """
    if not enabled:
        return AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=RETRIES)
    return AIORateLimiter(
        overall_max_rate=FloodLimit.MESSAGES_PER_SECOND / max(workers, 1),
        overall_time_period=1,
        group_max_rate=FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_time_period=60,
        max_retries=RETRIES,
    )
