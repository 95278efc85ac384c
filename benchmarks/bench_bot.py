"""Whole-stack throughput: PTB → router → handler → SQLite → reply over HTTP.

Starts the Bot API emulator on loopback and the real bot (long polling) on a fresh SQLite
file, then has several families send a burst of real messages and measures, per update,
the time from the update being queued to the bot's reply arriving at the emulator.

    .venv/bin/python benchmarks/bench_bot.py [--messages 2000] [--groups 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import Update

from bot.app import build_application
from bot.services import build_services
from bot.settings import Settings
from tests.support.botapi import BotApiEmulator

TOKEN = "123456:BENCH"
MESSAGES = [
    "תוסיף חלב וביצים", "צריך 2 קילו עגבניות", "מה חסר לנו?", "עוד 3 ביצים", "לחם",
    "add bread and milk", "what's on the list", "need 2 kg tomatoes", "بدنا خبز وحليب",
    "شو ناقصنا", "תוריד את הלחם", "קנינו הכל חוץ מהעגבניות", "בעצם 4 חלב", "/list",
]


async def main(count: int, groups: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, BotApiEmulator(token=TOKEN) as emulator:
        settings = Settings(telegram_token=TOKEN, telegram_api_url=emulator.base_url,
                            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                            digest_delay=3600)
        services = await build_services(settings)
        app = build_application(services)
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1,
                                        allowed_updates=Update.ALL_TYPES)
        rng = random.Random(7)
        chats = [emulator.group(-1001000000000 - i, f"Family {i}") for i in range(groups)]
        users = [emulator.user(1000 + i, f"User{i}") for i in range(groups * 3)]
        # Warm up: the first message of each chat creates its group.
        for i, chat in enumerate(chats):
            emulator.send_text(chat, users[i * 3], "חלב")
        await _wait_sent(emulator, groups)
        before = len(emulator.sent())
        sent_at: list[float] = []
        started = time.perf_counter()
        for i in range(count):
            chat = chats[i % groups]
            user = users[(i % groups) * 3 + rng.randrange(3)]
            text = MESSAGES[rng.randrange(len(MESSAGES))]
            sent_at.append(time.perf_counter())
            emulator.send_text(chat, user, text)
        answered = await _wait_sent(emulator, before + count, timeout=600)
        elapsed = time.perf_counter() - started
        times = answered[before:before + count]
        latencies = sorted(max(0.0, t - s) * 1000 for t, s in zip(times, sent_at, strict=False))
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await services.close()
    print(f"{count} messages in {elapsed:.2f} s: {count / elapsed:.0f} messages/s")
    print(f"time per update from queued to reply: p50 {statistics.median(latencies):.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)]:.1f} ms (a burst: includes queueing)")


async def _wait_sent(emulator: BotApiEmulator, count: int, timeout: float = 60) -> list[float]:
    deadline = time.monotonic() + timeout
    arrivals: dict[tuple[int, int], float] = {}
    while time.monotonic() < deadline:
        for message in emulator.sent():
            key = (message["chat"]["id"], message["message_id"])
            arrivals.setdefault(key, time.perf_counter())
        if len(arrivals) >= count:
            break
        await asyncio.sleep(0.002)
    return sorted(arrivals.values())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.groups))
