"""The Bot API emulator with what the real cloud adds: flood limits and webhook delivery.

`CloudBotApi` is `BotApiEmulator` (tests/support/botapi.py) plus two opt-in behaviours:

- `flood_limits=True`: Telegram's limits on sending, as its FAQ states them: about 30
  messages a second per bot, 20 a minute per group. Every request that names a `chat_id`
  counts against the bot's bucket, and one that names a group (a negative id) against the
  group's too, which is what PTB's `AIORateLimiter` throttles. Each bucket leaks at its rate
  and holds one request more than the rate (Telegram does not count to the request either,
  and a request the client timed right can arrive a moment early). A request that does not
  fit is refused with 429 and `parameters.retry_after`, the whole seconds until it would
  fit, and is recorded in `refused`.
- `setWebhook`: from then on updates are not served by `getUpdates` (409, as on Telegram)
  but POSTed as JSON to the URL, with the secret in `X-Telegram-Bot-Api-Secret-Token`, over
  at most `max_connections` connections at once. An update is forgotten only after a 200;
  any other answer (or none) is retried after a back-off, as Telegram does. One chat's
  updates go one after another, in update id order; different chats side by side.
  `deliveries` records every attempt (update id, status, seconds).

Standard library only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.support.botapi import ApiError, BotApiEmulator, JSONDict, _as_bool, _as_json

__all__ = ["CloudBotApi", "Delivery"]

PER_BOT = (30.0, 1.0)        # messages, seconds
PER_GROUP = (20.0, 60.0)
SLACK = 1.0                  # requests a bucket holds beyond its rate


class _Bucket:
    """A leaky bucket: `level` drains at `rate` a second; full at `capacity`."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = 0.0
        self.at = time.monotonic()

    def _drain(self, now: float) -> None:
        self.level = max(0.0, self.level - (now - self.at) * self.rate)
        self.at = now

    def wait(self, now: float) -> float:
        """Seconds until one more request fits (0: it fits now)."""
        self._drain(now)
        over = self.level + 1 - self.capacity
        return over / self.rate if over > 0 else 0.0

    def take(self) -> None:
        self.level += 1


@dataclass(frozen=True)
class Delivery:
    """One webhook POST: which update, what came back (0: no answer), how long it took."""

    update_id: int
    chat_id: int
    status: int
    seconds: float


class CloudBotApi(BotApiEmulator):
    """See the module docstring."""

    def __init__(self, *args: Any, flood_limits: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flood_limits = flood_limits
        self.refused: list[tuple[str, int, int]] = []  # (method, chat_id, retry_after)
        self.accepted_sends = 0
        self._bot_bucket = _Bucket(PER_BOT[0] / PER_BOT[1], PER_BOT[0] + SLACK)
        self._group_buckets: dict[int, _Bucket] = {}
        self._webhook: JSONDict | None = None
        self.deliveries: list[Delivery] = []
        self._in_flight: set[int] = set()        # chats with an update being POSTed
        self._delivering: set[int] = set()       # update ids being POSTed
        self._retry_at: dict[int, float] = {}    # update id -> not before
        self._failures_in_row: dict[int, int] = {}
        self._senders: list[threading.Thread] = []
        methods = {
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_cloud_webhook,
            "getWebhookInfo": self._cloud_webhook_info,
        }
        for name, handler in methods.items():
            self._methods[name.lower()] = (name, handler)
        polls = self._methods["getupdates"][1]
        self._methods["getupdates"] = ("getUpdates", lambda p: self._polled(polls, p))
        for key, (name, handler) in list(self._methods.items()):
            self._methods[key] = (name, self._limited(name, handler))

    # ------------------------------------------------------------------ flood limits

    def _limited(self, name: str, handler: Any) -> Any:
        def call(params: JSONDict) -> Any:
            chat_id = params.get("chat_id")
            if self.flood_limits and chat_id not in (None, ""):
                self._admit(name, chat_id)
            return handler(params)
        return call

    def _admit(self, method: str, chat_id: Any) -> None:
        try:
            chat = int(chat_id)
        except (TypeError, ValueError):
            chat = 0
        with self._lock:
            now = time.monotonic()
            buckets = [self._bot_bucket]
            if chat < 0:
                buckets.append(self._group_buckets.setdefault(
                    chat, _Bucket(PER_GROUP[0] / PER_GROUP[1], PER_GROUP[0] + SLACK)))
            wait = max(bucket.wait(now) for bucket in buckets)
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                self.refused.append((method, chat, retry_after))
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}",
                               {"retry_after": retry_after})
            for bucket in buckets:
                bucket.take()
            self.accepted_sends += 1

    # ------------------------------------------------------------------ webhook

    @property
    def webhook_url(self) -> str:
        with self._lock:
            return str(self._webhook["url"]) if self._webhook else ""

    def _polled(self, polls: Any, params: JSONDict) -> Any:
        with self._lock:
            if self._webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                    "active; use deleteWebhook to delete the webhook first")
        return polls(params)

    def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_cloud_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiError(400, "Bad Request: bad webhook: invalid webhook URL specified")
        secret = params.get("secret_token")
        if secret is not None and not (1 <= len(str(secret)) <= 256):
            raise ApiError(400, "Bad Request: bad webhook: secret token is invalid")
        connections = params.get("max_connections") or 40
        allowed = _as_json(params, "allowed_updates")
        with self._cond:
            if _as_bool(params.get("drop_pending_updates", False)):
                self._updates.clear()
            if isinstance(allowed, list):
                self._allowed = [str(kind) for kind in allowed]
            self._webhook = {"url": url, "secret": secret,
                             "max_connections": max(1, min(int(connections), 100))}
            self._cond.notify_all()
            wanted = self._webhook["max_connections"]
            while len(self._senders) < wanted:
                sender = threading.Thread(target=self._send_loop, daemon=True,
                                          name=f"webhook-{len(self._senders)}")
                self._senders.append(sender)
                sender.start()
        return True

    def _delete_cloud_webhook(self, params: JSONDict) -> bool:
        with self._cond:
            self._webhook = None
            self._cond.notify_all()
        return bool(self._delete_webhook(params))

    def _cloud_webhook_info(self, params: JSONDict) -> JSONDict:
        with self._lock:
            pending = len(self._updates)
            hook = self._webhook
            return {"url": hook["url"] if hook else "", "has_custom_certificate": False,
                    "pending_update_count": pending,
                    "max_connections": hook["max_connections"] if hook else 0}

    def _next_update(self) -> JSONDict | None:
        """The oldest update whose chat has nothing in flight and whose back-off is over.
        Called with the lock held."""
        assert self._webhook is not None
        wanted = self._allowed_kinds()
        now = time.monotonic()
        blocked: set[int] = set(self._in_flight)
        # Kinds the bot did not ask for are dropped, as Telegram does.
        self._updates = [u for u in self._updates
                         if wanted(next((key for key in u if key != "update_id"), ""))]
        for update in self._updates:
            chat = _chat_of(update)
            if chat in blocked:
                continue
            # Later updates of this chat wait behind this one, delivered or not.
            blocked.add(chat)
            if update["update_id"] in self._delivering:
                continue
            if self._retry_at.get(update["update_id"], 0.0) > now:
                continue
            return update
        return None

    def _send_loop(self) -> None:
        held: list[http.client.HTTPConnection] = []
        try:
            self._deliver(held)
        finally:
            for connection in held:
                connection.close()

    def _deliver(self, held: list[http.client.HTTPConnection]) -> None:
        connection: http.client.HTTPConnection | None = None
        target = ""
        while True:
            with self._cond:
                while True:
                    if self._closing:
                        return
                    update = self._next_update() if self._webhook is not None else None
                    if update is not None:
                        break
                    self._cond.wait(0.05)
                hook = dict(self._webhook or {})
                chat = _chat_of(update)
                self._in_flight.add(chat)
                self._delivering.add(update["update_id"])
            if hook["url"] != target or connection is None:
                if connection is not None:
                    connection.close()
                connection, target = _connect(hook["url"]), hook["url"]
                held[:] = [connection]
            status, started = 0, time.monotonic()
            for fresh in (False, True):
                try:
                    status = _post(connection, hook["url"], update, hook.get("secret"))
                    break
                except (OSError, http.client.HTTPException):
                    # The server closed an idle keep-alive connection: once more on a new
                    # one, as any HTTP client does; a second failure is a failed delivery.
                    connection.close()
                    connection = _connect(hook["url"])
                    held[:] = [connection]
                    if fresh:
                        status = 0
            seconds = time.monotonic() - started
            with self._cond:
                self.deliveries.append(Delivery(update["update_id"], chat, status, seconds))
                self._in_flight.discard(chat)
                self._delivering.discard(update["update_id"])
                if status == 200:
                    self._updates = [u for u in self._updates
                                     if u["update_id"] != update["update_id"]]
                    self._retry_at.pop(update["update_id"], None)
                    self._failures_in_row.pop(update["update_id"], None)
                else:
                    # Telegram backs off on a failing webhook; shorter here, for tests.
                    failures = self._failures_in_row.get(update["update_id"], 0) + 1
                    self._failures_in_row[update["update_id"]] = failures
                    self._retry_at[update["update_id"]] = (
                        time.monotonic() + min(0.05 * 2 ** failures, 2.0))
                self._cond.notify_all()

    def delivered(self) -> list[int]:
        """Update ids answered 200, in the order the answers came."""
        with self._lock:
            return [d.update_id for d in self.deliveries if d.status == 200]

    def stop(self) -> None:
        super().stop()
        for sender in self._senders:
            sender.join(timeout=5)
        self._senders = []


def _chat_of(update: JSONDict) -> int:
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
        sender = value.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return int(sender["id"])
    return 0


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    factory = (http.client.HTTPSConnection if parts.scheme == "https"
               else http.client.HTTPConnection)
    return factory(parts.hostname or "127.0.0.1", parts.port, timeout=30)


def _post(connection: http.client.HTTPConnection, url: str, update: JSONDict,
          secret: Any) -> int:
    parts = urlsplit(url)
    body = json.dumps(update, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = str(secret)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.getheader("Connection", "").lower() == "close":
        with contextlib.suppress(OSError):
            connection.close()
    return response.status
