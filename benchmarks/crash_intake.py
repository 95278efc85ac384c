"""Updates sent, lost and doubled when `shopbot run` is killed with SIGKILL mid-burst.

The long version of tests/test_crash_intake.py: the Bot API emulator on loopback (it
forgets an update only when a later getUpdates offset confirms it, as Telegram does), the
real `shopbot run` as its own process, a burst of `/add 3 <item>` messages over many groups
sent in chunks, a SIGKILL at a random moment of each chunk, a restart, and at the end every
group's list read from the database: an item missing was lost, an item above 3 (or on two
lines) was applied twice.

    .venv/bin/python benchmarks/crash_intake.py [--db sqlite|postgresql|both]
        [--groups 10] [--per-group 30] [--kills 10] [--seeds 1,2,3] [--code DIR]

`--code DIR` runs another checkout's bot (e.g. one from before the durable inbox:
`git worktree add /tmp/before <commit>`), against the same emulator and counting.
PostgreSQL is the machine's server at 127.0.0.1:5432 (SHOPBOT_TEST_POSTGRES), in a database
made for each trial and dropped after it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.crash import ROOT, CrashResult, crash_trial
from tests.support.postgres import SERVER, admin


async def trial(db: str, args: argparse.Namespace, seed: int) -> CrashResult:
    """One trial on a fresh database."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        options = {"groups": args.groups, "per_group": args.per_group, "kills": args.kills,
                   "seed": seed, "max_delay": args.max_delay, "code": args.code}
        if db == "sqlite":
            return await crash_trial(f"sqlite+aiosqlite:///{work / 'bot.db'}", work,
                                     **options)
        name = f"shopbot_crash_{uuid.uuid4().hex[:10]}"
        await admin(f'CREATE DATABASE "{name}"')
        try:
            return await crash_trial(f"{SERVER}/{name}", work, **options)
        finally:
            await admin(f'DROP DATABASE "{name}" WITH (FORCE)')


async def main(args: argparse.Namespace) -> int:
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    print(f"code: {args.code}; {args.groups} groups x {args.per_group} items, "
          f"{args.kills} SIGKILLs a trial, seeds {seeds}")
    print("| database | trials | updates sent | SIGKILLs | lost | doubled |")
    print("|---|---|---|---|---|---|")
    failed = False
    for db in databases:
        results = [await trial(db, args, seed) for seed in seeds]
        for result in results:
            print(f"  {db} seed: {result.line()}", file=sys.stderr)
            for example in (result.lost + result.doubled)[:5]:
                print(f"    {example}", file=sys.stderr)
        sent = sum(r.sent for r in results)
        kills = sum(r.kills for r in results)
        lost = sum(len(r.lost) for r in results)
        doubled = sum(len(r.doubled) for r in results)
        failed = failed or bool(lost or doubled)
        print(f"| {db} | {len(results)} | {sent} | {kills} | {lost} | {doubled} |")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--per-group", type=int, default=30)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--max-delay", type=float, default=1.5,
                        help="a kill comes up to this many seconds after a chunk is sent")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the checkout whose bot runs (default: this one)")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
