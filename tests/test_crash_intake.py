"""Nothing lost, nothing doubled when `shopbot run` is killed mid-burst (issue 10).

The real bot runs as its own process against the Bot API emulator (which forgets an update
only when a later getUpdates offset confirms it, as Telegram does), gets SIGKILL at random
moments while a burst of adds across many groups is fetched and applied, and is started
again each time; at the end every group has every item exactly once. The long version with
its figures is benchmarks/crash_intake.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.crash import crash_trial
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.slow


async def test_sigkill_mid_burst_loses_and_doubles_nothing_on_sqlite(tmp_path: Path) -> None:
    result = await crash_trial(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", tmp_path,
                               groups=6, per_group=8, kills=3, seed=11, max_delay=1.0)
    assert result.kills == 3
    assert (result.lost, result.doubled) == ([], []), result.line()


async def test_sigkill_mid_burst_loses_and_doubles_nothing_on_postgresql(
        tmp_path: Path) -> None:
    async with fresh_database() as url:
        result = await crash_trial(url, tmp_path, groups=6, per_group=8, kills=3, seed=12,
                                   max_delay=1.0)
    assert result.kills == 3
    assert (result.lost, result.doubled) == ([], []), result.line()
