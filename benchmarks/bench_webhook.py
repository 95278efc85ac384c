"""Webhook load: `shopbot serve` with 1 and 2 workers on PostgreSQL, fed as Telegram feeds it.

The emulator (tests/support/cloud.py) takes `setWebhook`, then POSTs updates to the bot with
up to 40 connections at once, one chat's updates one after another, and retries anything not
answered 200. Many family groups write a realistic mix: most group messages are chit-chat the
bot stays out of, the rest are `/add 3 <item>` requests, each item once per group. Measured:

- throughput: updates from the first queued to the inbox empty, per second;
- latency, p50/p95: a request queued to its reply arriving (under a burst this includes the
  wait in Telegram's queue; `--rate` paces the messages instead);
- CPU per update: user+system seconds of the serve processes over the run, per update;
- correctness, read from the database: every item on its group's list once with amount 3
  (lost: missing; doubled: another amount or a second line), and each group's replies in the
  order its requests were said (reordered);
- `--kill`: one worker is killed with SIGKILL when a third of the burst is in; uvicorn starts
  another, which takes back the dead worker's claimed updates.

    .venv/bin/python benchmarks/bench_webhook.py                       # 1 and 2 workers
    .venv/bin/python benchmarks/bench_webhook.py --workers 2 --kill    # SIGKILL mid-burst
    .venv/bin/python benchmarks/bench_webhook.py --messages 3000 --groups 60 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from sqlalchemy import text as sql

from db.engine import make_engine
from router.entities import extract
from router.types import Intent
from tests.support.cloud import CloudBotApi
from tests.support.postgres import fresh_database
from tests.support.serving import ROOT, Served

TOKEN = "123456:WEBHOOK-BENCH"
AMOUNT = 3
CHITCHAT = [
    "בוקר טוב", "מה נשמע?", "תודה רבה", "אני בדרך הביתה", "מי אוסף את הילדים היום?", "😂😂",
    "good morning", "thanks!", "see you at dinner", "running late, sorry", "ok", "love you",
    "صباح الخير", "شكرا", "وين صرتوا؟", "تمام", "يلا باي",
]


class TimedCloud(CloudBotApi):
    """Notes when each reply arrives and to which message it answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replied: dict[tuple[int, int], float] = {}
        self.reply_order: dict[int, list[int]] = {}

    def _store(self, message: dict[str, Any], outgoing: bool) -> dict[str, Any]:
        if outgoing and "reply_to_message" in message:
            chat, answered = message["chat"]["id"], message["reply_to_message"]["message_id"]
            self.replied.setdefault((chat, answered), time.perf_counter())
            self.reply_order.setdefault(chat, []).append(answered)
        return super()._store(message, outgoing)


def clean_items(count: int) -> list[str]:
    """English lexicon items that `/add 3 <item>` reads as one item of amount 3."""
    names: list[str] = []
    lines = (ROOT / "router/data/lang/en/items.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        name = line.split("\t")[0].strip()
        if not name or name in names or any(c.isdigit() for c in name) or " and " in name:
            continue
        found = extract(Intent.GROCERY_REQUEST, f"{AMOUNT} {name}").items
        if len(found) == 1 and found[0].quantity == AMOUNT and found[0].unit is None:
            names.append(name)
        if len(names) == count:
            return names
    raise SystemExit(f"only {len(names)} lexicon items read cleanly")


@dataclass
class Run:
    workers: int
    updates: int = 0
    requests: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    reordered: list[int] = field(default_factory=list)
    unanswered: int = 0
    retries: int = 0
    killed: int | None = None

    def row(self) -> str:
        ms = sorted(self.latencies)
        p50 = statistics.median(ms) * 1000 if ms else float("nan")
        p95 = ms[int(0.95 * (len(ms) - 1))] * 1000 if ms else float("nan")
        kill = f", SIGKILL pid {self.killed}" if self.killed else ""
        return (f"| {self.workers} | {self.updates} | {self.updates / self.seconds:.0f} | "
                f"{p50:.0f} | {p95:.0f} | {1000 * self.cpu / self.updates:.1f} | "
                f"{len(self.lost)} | {len(self.doubled)} | {len(self.reordered)} | "
                f"{self.unanswered} | {self.retries}{kill} |")


def serve_cpu(root: psutil.Process, seen: dict[int, float]) -> None:
    """Remember the CPU seconds of the serve process and each of its workers (a worker
    killed mid-run keeps what it had last used)."""
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            seen[process.pid] = times.user + times.system
        except psutil.Error:
            pass


async def inbox_depth(url: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(sql("SELECT count(*) FROM inbox"))).scalar_one())
    finally:
        await engine.dispose()


async def lists(url: str) -> dict[int, list[tuple[str, float | None]]]:
    engine = make_engine(url)
    out: dict[int, list[tuple[str, float | None]]] = {}
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(sql(
                "SELECT chats.chat_id, items.name, items.quantity FROM items "
                "JOIN chats ON chats.group_id = items.group_id "
                "WHERE items.status = 'open' AND chats.kind = 'group'"))
            for chat_id, name, quantity in rows.all():
                out.setdefault(int(chat_id), []).append((str(name), quantity))
    finally:
        await engine.dispose()
    return out


async def one_run(workers: int, messages: int, groups: int, share: float, rate: float | None,
                  kill: bool, seed: int, workdir: Path) -> Run:
    rng = random.Random(seed)
    result = Run(workers)
    async with fresh_database() as url:
        with TimedCloud(token=TOKEN, bot_username="bench_bot") as cloud:
            chats = [cloud.group(-1005000000000 - i, f"Family {i}") for i in range(groups)]
            people = [[cloud.user(900000 + 2 * i + k, f"Member {i}.{k}", language_code="he")
                       for k in range(2)] for i in range(groups)]
            per_group = int(messages * share / groups) + 1
            items = clean_items(per_group)
            plan: list[tuple[int, str]] = []
            used = [0] * groups
            for _ in range(messages):
                g = rng.randrange(groups)
                if rng.random() < share and used[g] < len(items):
                    plan.append((g, f"/add {AMOUNT} {items[used[g]]}"))
                    used[g] += 1
                else:
                    plan.append((g, rng.choice(CHITCHAT)))
            served = Served(workdir, token=TOKEN, api_url=cloud.base_url, database_url=url,
                            workers=workers, rate_limit="off", digest_delay="3600")
            with served:
                assert served.process is not None
                root = psutil.Process(served.process.pid)
                cpu: dict[int, float] = {}
                serve_cpu(root, cpu)
                before = sum(cpu.values())
                queued: dict[tuple[int, int], float] = {}
                said: dict[int, list[int]] = {}
                started = time.perf_counter()
                for number, (g, text) in enumerate(plan):
                    if rate:
                        delay = started + number / rate - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    update = cloud.send_text(chats[g], rng.choice(people[g]), text)
                    message_id = update["message"]["message_id"]
                    if text.startswith("/add"):
                        queued[(chats[g]["id"], message_id)] = time.perf_counter()
                        said.setdefault(chats[g]["id"], []).append(message_id)
                    if kill and result.killed is None and number >= messages // 3:
                        await asyncio.sleep(0.5)
                        victim = next(p for p in root.children()
                                      if "spawn_main" in " ".join(p.cmdline()))
                        result.killed = victim.pid
                        victim.send_signal(signal.SIGKILL)
                deadline = time.perf_counter() + 900
                while time.perf_counter() < deadline:
                    serve_cpu(root, cpu)
                    if not cloud.pending_updates() and not await inbox_depth(url):
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise SystemExit(f"not done after 900 s; see {served.log}")
                result.seconds = time.perf_counter() - started
                serve_cpu(root, cpu)
                result.cpu = sum(cpu.values()) - before
                await asyncio.sleep(1.0)  # replies still on their way
            result.updates = len(plan)
            result.requests = len(queued)
            result.latencies = [cloud.replied[key] - at for key, at in queued.items()
                                if key in cloud.replied]
            result.unanswered = len(queued) - len(result.latencies)
            delivered = [d.update_id for d in cloud.deliveries]
            result.retries = len(delivered) - len(set(delivered))
            for chat in chats:
                answered = [m for m in cloud.reply_order.get(chat["id"], [])
                            if m in set(said.get(chat["id"], []))]
                if answered != sorted(answered):
                    result.reordered.append(chat["id"])
        final = await lists(url)
    for g, chat in enumerate(chats):
        seen: dict[str, list[float | None]] = {}
        for name, quantity in final.get(chat["id"], []):
            seen.setdefault(name, []).append(quantity)
        for item in items[:used[g]]:
            if item not in seen:
                result.lost.append(f"{chat['title']}: {item}")
            elif seen[item] != [AMOUNT]:
                result.doubled.append(f"{chat['title']}: {item} {seen[item]}")
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--requests", type=float, default=0.3,
                        help="share of messages that are requests (the rest chit-chat)")
    parser.add_argument("--rate", type=float, default=None,
                        help="messages a second (default: all at once)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL one worker mid-burst")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    pace = f"{args.rate:.0f}/s" if args.rate else "one burst"
    print(f"{args.messages} messages over {args.groups} groups, {args.requests:.0%} requests, "
          f"{pace}; PostgreSQL; rate limit off")
    print("| workers | updates | updates/s | p50 ms | p95 ms | CPU ms/update | lost | doubled "
          "| reordered | unanswered | webhook retries |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            run = await one_run(workers, args.messages, args.groups, args.requests, args.rate,
                                args.kill and workers > 1, args.seed, Path(tmp))
            print(run.row(), flush=True)
            for label, bad in (("lost", run.lost), ("doubled", run.doubled)):
                if bad:
                    print(f"  {label}: {bad[:10]}")


if __name__ == "__main__":
    asyncio.run(main())
