"""A scripted run of the whole bot with an LLM fallback: who routed each message.

Feeds the independent evaluation messages to `shopbot chat` (every message addressed to the
bot) with the LLM pointed at an OpenAI-compatible server on loopback, then prints
`shopbot stats` and what became of every question the bot put to the LLM (from its log:
valid, rejected, truncated, timeout, circuit, failed; latency percentiles).

By default the server is a stand-in that answers with the keyword baseline's guess, in the
schema the bot asks for. With `--real` it is llama-cpp-python's server with Gemma 3 270M
(built by .ci/llm-server on first use), with the quirks of real local servers.

    .venv/bin/python benchmarks/routed_by.py
    .venv/bin/python benchmarks/routed_by.py --real --timeout 10
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.evaluate import keyword_baseline  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Plan  # noqa: E402
from tests.support.llama_server import LlamaServer  # noqa: E402


def answer(body: dict) -> Plan:
    """The stand-in's answer: the keyword baseline's intent, or a short list for a dish."""
    data = json.loads(body["messages"][-1]["content"].splitlines()[-1])
    if "dish" in data:
        return Plan(content=json.dumps({"ingredients": [{"name": "salt"}, {"name": "oil"}]}))
    intent = keyword_baseline(data["message"]).value
    return Plan(content=json.dumps({"intents": [{"intent": intent, "entities": {}}]}))


def warm(base_url: str) -> float:
    """One question with no deadline, as a start-up probe would: the first prompt a server
    evaluates is the whole shared prefix (a cold start), later ones mostly reuse it."""
    import asyncio

    from router.llm import LlmClient

    async def ask() -> float:
        async with LlmClient(base_url=base_url, api_key="local", model="local",
                             timeout=600) as llm:
            return (await llm.ask("מה חסר לנו?", "he")).seconds

    return asyncio.run(ask())


@contextlib.contextmanager
def endpoint(real: bool, threads: int | None) -> Iterator[str]:
    """The base URL of the server the bot talks to, for the run."""
    if real:
        with LlamaServer.start(threads=threads) as server:
            print(f"real server warmed with one question in {warm(server.base_url):.1f} s")
            yield server.base_url
    else:
        with FakeOpenAI(default=answer) as server:
            yield server.base_url


def percentile(values: list[int], p: float) -> int | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true",
                        help="llama-cpp-python's server with Gemma 3 270M instead of the stand-in")
    parser.add_argument("--timeout", type=float, default=10.0, help="SHOPBOT_LLM_TIMEOUT")
    parser.add_argument("--limit", type=int, default=None, help="the first N messages only")
    parser.add_argument("--threads", type=int, default=None, help="the real server's threads")
    parser.add_argument("--log", type=Path, default=None, help="keep shopbot chat's log here")
    args = parser.parse_args()
    lines = [json.loads(line)["text"].replace("\n", " ") for line in
             (ROOT / "models/corpus/eval/realistic.jsonl").read_text().splitlines() if line]
    lines = lines[:args.limit] if args.limit else lines
    with tempfile.TemporaryDirectory() as tmp, endpoint(args.real, args.threads) as base_url:
        env = {**os.environ, "SHOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/run.db",
               "SHOPBOT_LLM_BASE_URL": base_url, "SHOPBOT_LLM_API_KEY": "local",
               "SHOPBOT_LLM_TIMEOUT": str(args.timeout), "SHOPBOT_LOG_LEVEL": "INFO"}
        script = "\n".join(f"@member{i % 3}: {text}" for i, text in enumerate(lines)) + "\n"
        started = time.perf_counter()
        chat = subprocess.run([sys.executable, "-m", "bot.cli", "chat"], input=script,
                              text=True, env=env, cwd=tmp, capture_output=True, check=True)
        wall = time.perf_counter() - started
        if args.log:
            args.log.write_text(chat.stderr, encoding="utf-8")
        stats = subprocess.run([sys.executable, "-m", "bot.cli", "stats"], text=True, env=env,
                               cwd=tmp, capture_output=True, check=True)
    asked = re.findall(r"llm outcome=(\w+) ms=(\d+)", chat.stderr)
    dishes = re.findall(r"llm dish outcome=(\w+) ms=(\d+)", chat.stderr)
    counts = Counter(outcome for outcome, _ms in asked)
    times = [int(ms) for outcome, ms in asked if outcome != "circuit"]
    server = "llama-cpp-python 0.3.36 + Gemma 3 270M" if args.real else "keyword stand-in"
    print(f"{len(lines)} messages through shopbot chat in {wall:.0f} s; LLM: {server}, "
          f"timeout {args.timeout:g} s")
    print(f"LLM asked about {len(asked)} messages: " + ", ".join(
        f"{name} {counts.get(name, 0)}" for name in
        ("valid", "rejected", "truncated", "timeout", "circuit", "failed")))
    print(f"LLM latency: p50 {percentile(times, 0.5)} ms, p95 {percentile(times, 0.95)} ms, "
          f"max {max(times, default=0)} ms")
    if dishes:
        dish_counts = Counter(outcome for outcome, _ms in dishes)
        print(f"dish lists asked for {len(dishes)} unknown dishes: " + ", ".join(
            f"{name} {n}" for name, n in sorted(dish_counts.items())))
    print(stats.stdout)


if __name__ == "__main__":
    main()
