"""Prometheus metrics (prometheus-client), served at `/metrics` by `shopbot serve`.

Every worker process counts into the same multiprocess directory
(`PROMETHEUS_MULTIPROC_DIR`, which `shopbot serve` makes fresh at start), so a scrape that
reaches any one worker sees the sum over all of them. Without that directory (`shopbot run`,
tests) the counters live in this process's default registry.

What is counted where: updates and their handling time in the application's update
processor (bot/app.py), routing decisions in the dispatcher, webhook requests and the inbox
in bot/serve.py, digests in bot/digests.py. LLM figures are copied from the client's own
counts (router/llm.py, which knows nothing of Prometheus) at each scrape and every few
seconds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "DIGESTS_SENT",
    "INBOX_DEPTH",
    "LLM_BREAKER_OPEN",
    "LLM_CALLS",
    "LLM_ERRORS",
    "ROUTED",
    "UPDATES",
    "UPDATE_SECONDS",
    "WEBHOOK_REQUESTS",
    "LlmCounts",
    "render",
    "update_kind",
]

UPDATES = Counter("shopbot_updates", "Telegram updates applied, by kind", ["kind"])
UPDATE_SECONDS = Histogram(
    "shopbot_update_seconds",
    "Time to apply one update: routing, the handler's transaction and the replies sent",
    ["kind"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
ROUTED = Counter("shopbot_routed", "Messages acted on, by who decided the intent "
                                   "(rule, model, llm, user)", ["source"])
WEBHOOK_REQUESTS = Counter("shopbot_webhook_requests", "Webhook requests, by the status "
                                                       "answered", ["status"])
LLM_CALLS = Counter("shopbot_llm_calls", "Questions to the LLM, by outcome", ["outcome"])
LLM_ERRORS = Counter("shopbot_llm_errors", "Questions to the LLM that got no answer "
                                           "(timeout or failure)")
LLM_BREAKER_OPEN = Gauge("shopbot_llm_breaker_open", "1 while the LLM circuit breaker is open "
                                                     "in any worker", multiprocess_mode="livemax")
INBOX_DEPTH = Gauge("shopbot_inbox_depth", "Stored updates waiting to be applied",
                    multiprocess_mode="mostrecent")
DIGESTS_SENT = Counter("shopbot_digests_sent", "Private digests sent to members")

_LLM_ERRORS = frozenset({"timeout", "failed"})
_LIVE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def update_kind(update: object) -> str:
    """The kind of a PTB update as Telegram names it (message, callback_query, …)."""
    for kind in ("message", "edited_message", "callback_query", "my_chat_member",
                 "chat_member"):
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


class LlmCounts:
    """Copies an LLM client's outcome counts into the counters, as increments since the
    last copy (the client keeps running totals of its own)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def sync(self, counts: Mapping[Any, int], breaker_open: bool) -> None:
        for outcome, total in counts.items():
            name = str(getattr(outcome, "value", outcome))
            delta = total - self._seen.get(name, 0)
            if delta > 0:
                LLM_CALLS.labels(name).inc(delta)
                if name in _LLM_ERRORS:
                    LLM_ERRORS.inc(delta)
            self._seen[name] = total
        LLM_BREAKER_OPEN.set(1 if breaker_open else 0)


def _forget_dead_workers(directory: Path) -> None:
    """A worker that died (and was replaced) stops counting in the live gauges."""
    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_FILE.match(path.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except PermissionError:
            pass


def render() -> bytes:
    """The text exposition of every metric: all workers' together when they share a
    multiprocess directory, else this process's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return generate_latest(REGISTRY)
    _forget_dead_workers(Path(directory))
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
