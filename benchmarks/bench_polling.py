"""Long polling: `shopbot run` on SQLite beside a bare python-telegram-bot echo bot, one run.

One Bot API emulator on loopback (tests/support/botapi.py) serves both bots, one after the
other, in this process; each bot runs as its own process. The echo bot is PTB's plainest:
`Application` with its own polling and one `MessageHandler` that answers every text with
itself, defaults everywhere else. shopbot runs as `shopbot run` (`SHOPBOT_RATE_LIMIT=off`,
a fresh SQLite file). Many family groups write a burst of messages; the bots take turns
(`--rounds`), so both see the same machine load.

Mixes for shopbot: `realistic` (most group messages chit-chat it stays out of, the rest
requests: `/add 3 <item>`, adds and list questions in words, in three languages),
`requests` (every message answered) and `chit-chat` (none answered). The echo bot gets the
realistic mix and answers all of it. Measured per run:

- throughput: updates from the first queued to the last one processed, per second;
- CPU per update: the bot process's user + system seconds over the burst, per update;
- checks: every request answered exactly once and in its chat's order, no chit-chat
  answered; every update marked processed in the database and the inbox empty (shopbot);
  every message echoed once (echo bot).

    .venv/bin/python benchmarks/bench_polling.py [--messages 2000] [--groups 40] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "123456:POLLING-BENCH"
# Group talk the bundled model reads as no request ("running late, sorry" is read as an add:
# a model error, left out here so that every reply can be checked).
CHITCHAT = [
    "בוקר טוב", "מה נשמע?", "תודה רבה", "אני בדרך הביתה", "מי אוסף את הילדים היום?", "😂😂",
    "good morning", "thanks!", "see you at dinner", "on my way", "ok", "love you",
    "صباح الخير", "شكرا", "وين صرتوا؟", "تمام", "يلا باي",
]
REQUESTS = [
    "/add 3 {item}", "/add 2 {item}", "תוסיף חלב", "צריך 2 עגבניות", "add bread", "need milk",
    "ضيف خبز", "מה ברשימה?", "what's on the list?", "شو ناقصنا؟",
]
ITEMS = ["apples", "rice", "tea", "salt", "eggs", "butter", "cheese", "coffee", "sugar", "flour"]
MIXES = {"realistic": 0.3, "requests": 1.0, "chit-chat": 0.0}


# --------------------------------------------------------------------------- the echo bot


def echo_bot(base_url: str) -> None:
    """The bare PTB echo bot (run in its own process by `--echo-bot URL`)."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    app = Application.builder().token(TOKEN).base_url(base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling()


# --------------------------------------------------------------------------- the harness


def emulator_class() -> Any:
    from tests.support.botapi import BotApiEmulator

    class Counting(BotApiEmulator):  # type: ignore[misc]
        """Notes each bot message's arrival and the message it answers."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.arrived: list[float] = []
            self.answers: dict[int, list[int]] = {}  # chat -> answered message ids, in order

        def _store(self, message: dict[str, Any], outgoing: bool) -> dict[str, Any]:
            if outgoing:
                self.arrived.append(time.perf_counter())
                target = message.get("reply_to_message")
                if target is not None:
                    self.answers.setdefault(message["chat"]["id"], []).append(
                        target["message_id"])
            return super()._store(message, outgoing)  # type: ignore[no-any-return]

    return Counting


@dataclass
class Run:
    bot: str
    mix: str
    updates: int
    seconds: float = 0.0
    cpu: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def row(self) -> str:
        checks = "; ".join(self.problems) if self.problems else "all processed, all answered"
        return (f"| {self.bot} | {self.mix} | {self.updates} | {self.rate:.0f} | "
                f"{1000 * self.cpu / self.updates:.2f} | {checks} |")


def cpu_seconds(process: Any) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def burst(emulator: Any, chats: list[dict[str, Any]], people: list[dict[str, Any]],
          count: int, share: float, seed: int) -> dict[int, list[int]]:
    """Queue `count` messages round the groups; the requests' message ids per chat."""
    rng = random.Random(seed)
    requests: dict[int, list[int]] = {}
    for number in range(count):
        group = number % len(chats)
        person = people[group * 2 + rng.randrange(2)]
        if rng.random() < share:
            text = rng.choice(REQUESTS).format(item=rng.choice(ITEMS))
        else:
            text = rng.choice(CHITCHAT)
        update = emulator.send_text(chats[group], person, text)
        if text in CHITCHAT:
            continue
        requests.setdefault(chats[group]["id"], []).append(update["message"]["message_id"])
    return requests


async def wait(condition: Any, timeout: float, poll: float = 0.02) -> float:
    """Poll until `condition()` holds; the time it first did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.perf_counter()
        await asyncio.sleep(poll)
    raise TimeoutError("the bot did not finish in time")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT if process.args[-2] == "--echo-bot" else signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def run_echo(emulator: Any, chats: list[dict[str, Any]], people: list[dict[str, Any]],
                   count: int, seed: int) -> Run:
    import psutil

    bot = subprocess.Popen([sys.executable, __file__, "--echo-bot", emulator.base_url],
                           cwd=ROOT)
    try:
        start = len(emulator.arrived)
        for chat, person in zip(chats, people[::2], strict=True):
            emulator.send_text(chat, person, "hi")
        await wait(lambda: len(emulator.arrived) >= start + len(chats), 120)
        await asyncio.sleep(0.5)
        before = len(emulator.arrived)
        process = psutil.Process(bot.pid)
        cpu = cpu_seconds(process)
        began = time.perf_counter()
        burst(emulator, chats, people, count, MIXES["realistic"], seed)
        ended = await wait(lambda: len(emulator.arrived) >= before + count, 600)
        run = Run("PTB echo bot", "realistic, every message echoed", count,
                  ended - began, cpu_seconds(process) - cpu)
        await asyncio.sleep(0.3)
        if len(emulator.arrived) != before + count:
            run.problems.append(f"{len(emulator.arrived) - before} echoes")
        return run
    finally:
        stop(bot)


async def run_shopbot(emulator: Any, chats: list[dict[str, Any]],
                      people: list[dict[str, Any]], count: int, mix: str, seed: int,
                      folder: Path) -> Run:
    import psutil

    db = folder / f"shopbot-{mix}-{seed}.db"
    env = {**os.environ, "SHOPBOT_TELEGRAM_TOKEN": TOKEN,
           "SHOPBOT_TELEGRAM_API_URL": emulator.base_url,
           "SHOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "SHOPBOT_RATE_LIMIT": "off",
           "SHOPBOT_DIGEST_DELAY": "3600", "SHOPBOT_LOG_LEVEL": "WARNING"}
    bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=ROOT)

    def processed() -> int:
        if not db.exists():
            return 0
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
                done = connection.execute("SELECT count(*) FROM processed_updates").fetchone()
                waiting = connection.execute("SELECT count(*) FROM inbox").fetchone()
            return int(done[0]) if not waiting[0] else -1
        except sqlite3.Error:
            return 0

    try:
        start = len(emulator.arrived)
        # First contact (the group, its members) is not the steady state: done first.
        for group, chat in enumerate(chats):
            for person in people[group * 2:group * 2 + 2]:
                emulator.send_text(chat, person, "/list")
        await wait(lambda: len(emulator.arrived) >= start + 2 * len(chats), 180)
        await wait(lambda: processed() >= 2 * len(chats), 60)
        await asyncio.sleep(0.5)
        answers = {chat: list(ids) for chat, ids in emulator.answers.items()}
        before, done = len(emulator.arrived), processed()
        process = psutil.Process(bot.pid)
        cpu = cpu_seconds(process)
        began = time.perf_counter()
        requests = burst(emulator, chats, people, count, MIXES[mix], seed)
        wanted = sum(len(ids) for ids in requests.values())
        ended = await wait(lambda: len(emulator.arrived) >= before + wanted
                           and processed() >= done + count, 600, poll=0.05)
        run = Run("shopbot run (SQLite)", mix, count, ended - began,
                  cpu_seconds(process) - cpu)
        await asyncio.sleep(0.3)
        if processed() != done + count:
            run.problems.append(f"{processed() - done} of {count} processed")
        if len(emulator.arrived) != before + wanted:
            run.problems.append(f"{len(emulator.arrived) - before} replies to {wanted} "
                                "requests")
        for chat, ids in requests.items():
            replied = emulator.answers.get(chat, [])[len(answers.get(chat, [])):]
            if replied != ids:
                run.problems.append(f"chat {chat}: answers {replied[:5]}… to {ids[:5]}…")
                break
        return run
    finally:
        stop(bot)


async def main(messages: int, groups: int, rounds: int, mixes: list[str]) -> None:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, emulator_class()(token=TOKEN) as emulator:
        chats = [emulator.group(-1007000000000 - i, f"Family {i}") for i in range(groups)]
        people = [emulator.user(770000 + i, f"Member {i}",
                                language_code=("he", "en", "ar")[i // 2 % 3])
                  for i in range(2 * groups)]
        runs: list[Run] = []
        for number in range(rounds):
            runs.append(await run_echo(emulator, chats, people, messages, seed=number))
            print(runs[-1].row(), flush=True)
            for mix in mixes:
                runs.append(await run_shopbot(emulator, chats, people, messages, mix,
                                              number, Path(tmp)))
                print(runs[-1].row(), flush=True)
    print(f"\n{messages} messages over {groups} groups a run, {rounds} round(s); load average "
          f"{load[0]:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
    print("| bot | mix | updates | updates/s | CPU ms/update | checks |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        print(run.row())
    echo = statistics.median(run.rate for run in runs if run.bot.startswith("PTB"))
    for mix in mixes:
        mine = [run for run in runs if run.mix == mix and not run.bot.startswith("PTB")]
        rate = statistics.median(run.rate for run in mine)
        cpu = statistics.median(1000 * run.cpu / run.updates for run in mine)
        print(f"shopbot {mix}: median {rate:.0f} updates/s = {rate / echo:.2f} of the echo "
              f"bot's median {echo:.0f}; {cpu:.2f} ms CPU per update")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--echo-bot":
        echo_bot(sys.argv[2])
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mix", action="append", choices=list(MIXES),
                        help="shopbot's mixes (default: all three)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.messages, arguments.groups, arguments.rounds,
                     arguments.mix or list(MIXES)))
