"""Whole-stack throughput: PTB → router → handler → SQLite → reply over HTTP.

Starts the Bot API emulator on loopback and the real bot (long polling) on a fresh SQLite
file, then has several families send a burst of real messages and measures, per update,
the time from the update being queued to the bot's reply arriving at the emulator.

    .venv/bin/python benchmarks/bench_bot.py [--messages 2000] [--groups 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from tests.support.botapi import BotApiEmulator

TOKEN = "123456:BENCH"


class TimedEmulator(BotApiEmulator):
    """Notes when each bot message arrives, so waiting costs the bot no CPU."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.arrivals: list[float] = []

    def _store(self, message: dict, outgoing: bool) -> dict:  # type: ignore[override]
        if outgoing:
            self.arrivals.append(time.perf_counter())
        return super()._store(message, outgoing)
MESSAGES = [
    "תוסיף חלב וביצים", "צריך 2 קילו עגבניות", "מה חסר לנו?", "עוד 3 ביצים", "לחם",
    "add bread and milk", "what's on the list", "need 2 kg tomatoes", "بدنا خبز وحليب",
    "شو ناقصنا", "תוריד את הלחם", "קנינו הכל חוץ מהעגבניות", "בעצם 4 חלב", "/list",
]


def start_bot(emulator: TimedEmulator, db: Path) -> subprocess.Popen[bytes]:
    """`shopbot run` as its own process against the emulator, on a fresh SQLite file."""
    env = {**os.environ, "SHOPBOT_TELEGRAM_TOKEN": TOKEN,
           "SHOPBOT_TELEGRAM_API_URL": emulator.base_url,
           "SHOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
           "SHOPBOT_DIGEST_DELAY": "3600", "SHOPBOT_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=db.parent)


async def main(count: int, groups: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, TimedEmulator(token=TOKEN) as emulator:
        # The bot runs as its own process (`shopbot run`), as it does in production, so the
        # emulator and the bot do not share one interpreter.
        bot = start_bot(emulator, Path(tmp) / "bench.db")
        try:
            rng = random.Random(7)
            chats = [emulator.group(-1001000000000 - i, f"Family {i}") for i in range(groups)]
            users = [emulator.user(1000 + i, f"User{i}") for i in range(groups * 3)]
            # Warm up: the first message of each chat creates its group.
            for i, chat in enumerate(chats):
                emulator.send_text(chat, users[i * 3], "חלב")
            await _wait_sent(emulator, groups, timeout=120)
            before = len(emulator.arrivals)
            sent_at: list[float] = []
            started = time.perf_counter()
            for i in range(count):
                chat = chats[i % groups]
                user = users[(i % groups) * 3 + rng.randrange(3)]
                sent_at.append(time.perf_counter())
                emulator.send_text(chat, user, MESSAGES[rng.randrange(len(MESSAGES))])
            answered = await _wait_sent(emulator, before + count, timeout=600)
            elapsed = max(answered[before:before + count]) - started
        finally:
            bot.terminate()
            bot.wait(timeout=30)
    times = sorted(answered[before:before + count])
    latencies = sorted(max(0.0, t - s) * 1000 for t, s in zip(times, sent_at, strict=False))
    print(f"{count} messages from {groups} groups in {elapsed:.2f} s: "
          f"{count / elapsed:.0f} messages/s")
    print(f"queued-to-reply time in this burst: p50 {statistics.median(latencies):.0f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)]:.0f} ms (includes waiting in the queue)")
    await single(groups)


async def single(groups: int) -> None:
    """One message at a time: the time a user waits for the bot's answer."""
    with tempfile.TemporaryDirectory() as tmp, TimedEmulator(token=TOKEN) as emulator:
        bot = start_bot(emulator, Path(tmp) / "one.db")
        try:
            chat = emulator.group(-1002000000000, "Solo")
            user = emulator.user(5000, "Solo")
            emulator.send_text(chat, user, "חלב")
            await _wait_sent(emulator, 1, timeout=120)
            waits = []
            for i in range(200):
                start = time.perf_counter()
                emulator.send_text(chat, user, MESSAGES[i % len(MESSAGES)])
                arrived = await _wait_sent(emulator, 2 + i, timeout=30, poll=0.0005)
                waits.append((arrived[-1] - start) * 1000)
        finally:
            bot.terminate()
            bot.wait(timeout=30)
    waits.sort()
    print(f"one message at a time: p50 {statistics.median(waits):.1f} ms, "
          f"p95 {waits[int(len(waits) * 0.95)]:.1f} ms per update (queued to reply)")


async def _wait_sent(emulator: TimedEmulator, count: int, timeout: float = 60,
                     poll: float = 0.05) -> list[float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(emulator.arrivals) < count:
        await asyncio.sleep(poll)
    return list(emulator.arrivals)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.groups))
