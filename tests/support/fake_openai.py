"""A fake OpenAI-compatible chat-completions server over real HTTP on loopback.

Scripted per test: each request pops the next planned behaviour (an answer, a status code,
a delay, malformed content), so the real `openai` client and our `LlmClient` are exercised
end to end without any network.

It can also behave like the real local servers the fallback met (llama-cpp-python's server
with Gemma 3):
- `refuse_json_schema=500` refuses `response_format: json_schema` with an HTTP 500 whose body
  is pydantic's complaint about `response_format` (400 for a plain `True`, as others do);
- `drop_system_role=True` drops system messages, as the `gemma` chat format does; a model
  that then sees no instructions echoes the user's text back as JSON (`echo_uninstructed`);
- `serial=True` generates one answer at a time, as llama.cpp does, and a planned `runaway`
  never stops by itself: it runs until `max_tokens` (or the context, when none is sent) at
  `token_seconds` a token, and ends with `finish_reason: length`. Streamed (`stream: true`),
  generation stops when the client has gone (`abandoned` counts those); not streamed, it
  runs on regardless, as llama.cpp's does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback import LoopbackServer, QuietHandler

__all__ = ["LABELS_MARKER", "FakeOpenAI", "Plan"]

# What a prompt must show the model for it to know its task (the label list's heading).
LABELS_MARKER = "Labels:"

# llama-cpp-python 0.3.36's answer to json_schema: pydantic's validation error, as a 500.
PYDANTIC_REFUSAL = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]")


@dataclass
class Plan:
    """One planned response."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    finish_reason: str = "stop"
    refuse_json_schema: bool = False
    runaway: bool = False


@dataclass
class FakeOpenAI:
    """The server; `answer(...)` queues plans; `requests` records what arrived and `seen`
    what the model saw of each (the messages after the chat template's quirks)."""

    default: Callable[[dict[str, Any]], Plan] | None = None
    plans: list[Plan] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    seen: list[list[dict[str, Any]]] = field(default_factory=list)
    refuse_json_schema: bool | int = False
    drop_system_role: bool = False
    echo_uninstructed: bool = True
    serial: bool = False
    token_seconds: float = 0.001
    context_tokens: int = 2048
    paths: list[str] = field(default_factory=list)
    abandoned: int = 0

    def __post_init__(self) -> None:
        fake = self
        generating = threading.Lock()

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                fake.paths.append(self.path)
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [
                        {"id": "fake-model", "object": "model", "owned_by": "me"}]})
                    return
                self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                fake.paths.append(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                kind = (body.get("response_format") or {}).get("type")
                if fake.refuse_json_schema and kind == "json_schema":
                    if fake.refuse_json_schema is True or fake.refuse_json_schema == 400:
                        self._send(400, {"error": {
                            "message": "response_format type json_schema is not supported",
                            "type": "invalid_request_error"}})
                    else:
                        self._send(int(fake.refuse_json_schema), {"error": {
                            "message": PYDANTIC_REFUSAL, "type": "internal_server_error"}})
                    return
                messages = [m for m in body.get("messages", [])
                            if not (fake.drop_system_role and m.get("role") == "system")]
                fake.seen.append(messages)
                visible = {**body, "messages": messages}
                instructed = any(LABELS_MARKER in str(m.get("content")) for m in messages)
                if fake.echo_uninstructed and not instructed and "intents" in str(
                        body.get("response_format")):
                    # What Gemma did without its instructions: the user's text back as JSON.
                    plan = Plan(content=json.dumps({"message": messages[-1]["content"]}
                                                   if messages else {}, ensure_ascii=False))
                else:
                    plan = fake.plans.pop(0) if fake.plans else (
                        fake.default(visible) if fake.default else Plan(status=500))
                if plan.delay:
                    time.sleep(plan.delay)
                if plan.status != 200:
                    self._send(plan.status, {"error": {"message": "planned failure",
                                                       "type": "server_error"}})
                    return
                content, finish = plan.content, plan.finish_reason
                limit = body.get("max_tokens") or fake.context_tokens
                if fake.serial:
                    generating.acquire()
                try:
                    if body.get("stream"):
                        self._stream(body, plan, limit)
                        return
                    if plan.runaway:
                        # The model never stops: it writes until the token budget is spent,
                        # whether or not the client still waits (as llama.cpp does when not
                        # streaming).
                        time.sleep(limit * fake.token_seconds)
                        content, finish = (content or "{") + " x" * limit, "length"
                    elif content is not None and _tokens(content) > limit:
                        content, finish = content[:limit * 4], "length"
                finally:
                    if fake.serial:
                        generating.release()
                self._send(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": 0,
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": finish,
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 10,
                              "total_tokens": 60},
                })

            def _stream(self, body: dict[str, Any], plan: Plan, limit: int) -> None:
                """Server-sent events, one piece at a time; like llama.cpp, generation stops
                as soon as the client is found gone."""
                def event(delta: dict[str, Any], finish: str | None) -> bytes:
                    chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                             "created": 0, "model": body.get("model", "fake"),
                             "choices": [{"index": 0, "delta": delta,
                                          "finish_reason": finish}]}
                    return f"data: {json.dumps(chunk)}\n\n".encode()

                content = plan.content or ""
                if plan.runaway:
                    pieces = ["{"] + [" x"] * limit
                    finish = "length"
                else:
                    pieces = [content[i:i + 16] for i in range(0, len(content), 16)]
                    finish = plan.finish_reason
                    if _tokens(content) > limit:
                        pieces, finish = [content[:limit * 4]], "length"
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    self.wfile.write(event({"role": "assistant", "content": ""}, None))
                    for piece in pieces:
                        if plan.runaway:
                            time.sleep(fake.token_seconds)
                        self.wfile.write(event({"content": piece}, None))
                        self.wfile.flush()
                    self.wfile.write(event({}, finish))
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    fake.abandoned += 1  # the client gave up; so does the generation

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


def _tokens(text: str) -> int:
    """A rough token count (four bytes a token), enough to model a budget."""
    return max(1, len(text.encode()) // 4)
