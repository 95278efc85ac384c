"""Every scripted conversation in tests/conversations/<lang>/*.chat, one test case each.

Each file is played through `shopbot chat`'s session against real services: real settings, a
real SQLite file, the bundled model, no LLM; voice notes go to a fake OpenAI-compatible
transcription server on loopback (tests/support/stt_server.py) that hears the words they carry,
or to none (`# transcription off`), or to one that fails (`# transcription fails`). A failure
prints the whole transcript. Run one with `pytest tests/test_conversations.py -k <slug>`.

The quick run (`pytest`) plays every conversation once, in one of its languages; `pytest -m
slow` (CI runs both) plays the other languages' copies. A conversation is a file name, its
languages the folders that hold a file of that name: the quick one is, of those folders in
order, the one at the file's number modulo how many there are (`01_…` in ar, en, he, ru: en).
A file in one folder only is always quick. `test_every_conversation_runs_in_exactly_one_run`
checks the split.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.services import Services, build_services
from bot.settings import Settings
from db.engine import upgrade_sync
from tests.support.conversations import ConversationError, parse, run
from tests.support.recipe_server import fixture_site
from tests.support.stt_server import FakeStt

CONVERSATIONS = Path(__file__).parent / "conversations"
FILES = sorted(CONVERSATIONS.glob("*/*.chat"))


def quick(path: Path) -> bool:
    """Whether the quick run plays this file (the module docstring has the rule)."""
    folders = sorted(p.parent.name for p in FILES if p.name == path.name)
    number = re.match(r"\d*", path.name).group()  # `NN_name.chat`; unnumbered counts as 0
    return folders[int(number or 0) % len(folders)] == path.parent.name


PLAYED = [pytest.param(p, id=f"{p.parent.name}/{p.stem}",
                       marks=() if quick(p) else pytest.mark.slow) for p in FILES]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database for the whole run; each conversation gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "shopbot.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def stt() -> Iterator[dict[str, FakeStt]]:
    """The transcription servers: one that hears a note's words, one that answers 500."""
    with FakeStt() as hears, FakeStt(status=500) as fails:
        yield {"on": hears, "fails": fails}


@asynccontextmanager
async def open_services(template_db: Path, tmp_path: Path, stt: dict[str, FakeStt],
                        transcription: str = "on") -> AsyncIterator[Services]:
    for part in template_db.parent.glob(template_db.name + "*"):
        shutil.copy(part, tmp_path / part.name)
    voice: dict[str, Any] = ({} if transcription == "off" else
                             {"stt_base_url": stt[transcription].base_url, "stt_timeout": 10})
    settings = Settings(_env_file=None,
                        database_url=f"sqlite+aiosqlite:///{tmp_path / template_db.name}",
                        llm_enabled=False, **voice)
    built = await build_services(settings, migrate=False)
    try:
        with fixture_site() as recipes:
            built.dispatcher.recipes = recipes  # recipe links: http://recipes.test/<fixture page>
            yield built
    finally:
        await built.close()


@pytest.fixture
async def services(template_db: Path, tmp_path: Path,
                   stt: dict[str, FakeStt]) -> AsyncIterator[Services]:
    async with open_services(template_db, tmp_path, stt) as built:
        yield built


@pytest.mark.parametrize("path", PLAYED)
async def test_conversation(path: Path, template_db: Path, tmp_path: Path,
                            stt: dict[str, FakeStt]) -> None:
    conversation = parse(path)
    async with open_services(template_db, tmp_path, stt, conversation.transcription) as services:
        result = await run(conversation, services)
    if result.failures:
        summary = [failure.splitlines()[0] for failure in result.failures]
        pytest.fail("\n".join(["", *result.transcript, "", *summary]), pytrace=False)


def test_there_are_conversations_in_every_language() -> None:
    languages = {path.parent.name for path in FILES}
    assert {"he", "en", "ar"} <= languages


def test_every_conversation_runs_in_exactly_one_run() -> None:
    """Every file is a case, quick or slow, never both; the quick run has each conversation
    (file name) once and every language."""
    marks = [({mark.name for mark in param.marks}, param.values[0]) for param in PLAYED]
    slow = [path for names, path in marks if names == {"slow"}]
    fast = [path for names, path in marks if not names]
    assert len(slow) + len(fast) == len(PLAYED)
    assert sorted(slow + fast) == sorted(CONVERSATIONS.glob("*/*.chat"))
    assert sorted(p.name for p in fast) == sorted({p.name for p in FILES})
    assert {p.parent.name for p in fast} == {p.parent.name for p in FILES}


MALFORMED = [
    ("@dana: milk\n", 1, "starts with its title"),
    ("# t\n@dana milk\n", 2, "not a speaker line"),
    ("# t\n> added\n", 2, "must follow the message"),
    ("# t\n@dana: add milk\n= list\n@dana: hi\n", 3, "needs `•` lines"),
    ("# t\n@dana: add milk\n• milk\n", 3, "belongs under `= list`"),
    ("# t\n@dana: add milk\n= list\n(empty)\n• milk\n", 5, "cannot be `(empty)`"),
    ("# t\n@dana: add milk\n!1\n", 3, "needs its speaker"),
    ("# t\n@dana: add milk\n>. \n> added\n", 4, "both silent"),
    ("# t\n@dana: add milk\n# quiet\n", 3, "before the first message"),
    ("# t\n@dana: add milk\nmilk please\n", 3, "expected `# …`"),
    ("# t\n@dana: add milk\n# transcription off\n", 3, "before the first message"),
    ("# t\n@dana: add milk\n\u23f3 soon\n", 3, "time passes as"),
    ("# t\n@dana: add milk\n\u23f3 25:00\n", 3, "time passes as"),
    ("# t\n@dana: add milk\n\u23f3 2h\n= list\n• milk\n> added\n", 6,
     "must follow the message"),
]


@pytest.mark.parametrize(("text", "lineno", "message"), MALFORMED)
def test_a_malformed_conversation_fails_naming_its_file_and_line(
        tmp_path: Path, text: str, lineno: int, message: str) -> None:
    path = tmp_path / "01_broken.chat"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConversationError) as raised:
        parse(path)
    assert str(raised.value).startswith(f"{path}:{lineno}: ")
    assert message in str(raised.value)


async def test_a_wrong_expectation_fails_with_the_whole_transcript(
        tmp_path: Path, services: Services) -> None:
    path = tmp_path / "01_wrong.chat"
    path.write_text("# A wrong list\n@dana: תוסיף חלב\n> נוסף\n@yossi: add bread\n> nothing\n"
                    "= list\n• חלב\n", encoding="utf-8")
    result = await run(parse(path), services)
    assert len(result.failures) == 2
    assert result.failures[0].startswith(f"{path}:4: expected the reply to contain 'nothing'")
    assert "extra:    bread" in result.failures[1]
    text = "\n".join(result.transcript)
    assert "@dana: תוסיף חלב" in text and "bot: ✓" in text and "= list: " in text
