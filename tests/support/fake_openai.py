"""A fake OpenAI-compatible chat-completions server over real HTTP on loopback.

Scripted per test: each request pops the next planned behaviour (an answer, a status code,
a delay, malformed content), so the real `openai` client and our `LlmClient` are exercised
end to end without any network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback import LoopbackServer, QuietHandler

__all__ = ["FakeOpenAI", "Plan"]


@dataclass
class Plan:
    """One planned response."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    finish_reason: str = "stop"
    refuse_json_schema: bool = False


@dataclass
class FakeOpenAI:
    """The server; `answer(...)` queues plans; `requests` records what arrived."""

    default: Callable[[dict[str, Any]], Plan] | None = None
    plans: list[Plan] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    refuse_json_schema: bool = False

    def __post_init__(self) -> None:
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                if fake.refuse_json_schema and (body.get("response_format") or {}).get(
                        "type") == "json_schema":
                    self._send(400, {"error": {
                        "message": "response_format type json_schema is not supported",
                        "type": "invalid_request_error"}})
                    return
                plan = fake.plans.pop(0) if fake.plans else (
                    fake.default(body) if fake.default else Plan(status=500))
                if plan.delay:
                    time.sleep(plan.delay)
                if plan.status != 200:
                    self._send(plan.status, {"error": {"message": "planned failure",
                                                       "type": "server_error"}})
                    return
                self._send(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": 0,
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": plan.finish_reason,
                                 "message": {"role": "assistant", "content": plan.content}}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 10,
                              "total_tokens": 60},
                })

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self.reply(status, {"Content-Type": "application/json"},
                           json.dumps(payload).encode())

        self._loopback = LoopbackServer(Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._loopback.port}/v1"

    def answer(self, *intents: tuple[str, dict[str, Any]]) -> None:
        """Queue a valid answer with these intents."""
        self.plans.append(Plan(content=json.dumps(
            {"intents": [{"intent": label, "entities": ents} for label, ents in intents]},
            ensure_ascii=False)))

    def __enter__(self) -> FakeOpenAI:
        self._loopback.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loopback.stop()
