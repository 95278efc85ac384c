"""The real LLM client against a fake OpenAI-compatible server on loopback, including the
quirks of real local servers (llama.cpp): a 500 for json_schema, a dropped system role, a
model that never stops, one answer generated at a time."""

from __future__ import annotations

import asyncio
import json
import time

from router.llm import LlmClient, Outcome, parse_answer
from router.types import Intent, Scored
from tests.support.fake_openai import FakeOpenAI, Plan

TOP = (Scored(Intent.GROCERY_REQUEST, 0.4), Scored(Intent.OTHER, 0.3),
       Scored(Intent.LIST_QUERY, 0.1))


def client(server: FakeOpenAI, **kwargs: float) -> LlmClient:
    options = {"timeout": 2.0, "backoff": 0.01, **kwargs}
    return LlmClient(base_url=server.base_url, api_key="test", model="fake-model",
                     **options)  # type: ignore[arg-type]


def data_line(request: dict) -> dict:
    """The message as the client sent it: a JSON object on the user turn's last line."""
    return json.loads(request["messages"][-1]["content"].splitlines()[-1])


async def test_a_good_answer_is_proposed_with_its_entities() -> None:
    with FakeOpenAI() as server:
        server.answer(("GROCERY_REQUEST", {"items": [{"name": "חלב", "quantity": 2,
                                                       "unit": None}]}))
        proposal = await client(server).propose("תביא לי 2 חלב", "he", TOP)
    assert proposal == [(Intent.GROCERY_REQUEST,
                         {"items": [{"name": "חלב", "quantity": 2, "unit": None}]})]
    sent = server.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    # The user's words travel as data inside a JSON string, never as the instructions.
    assert data_line(sent)["message"] == "תביא לי 2 חלב"
    assert "תביא לי 2 חלב" not in sent["messages"][0]["content"]


async def test_two_intents_keep_the_users_order() -> None:
    with FakeOpenAI() as server:
        server.answer(("GROCERY_REQUEST", {"items": [{"name": "bread"}]}), ("LIST_QUERY", {}))
        proposal = await client(server).propose("add bread and show me the list", "en", TOP)
    assert [intent for intent, _e in proposal or []] == [Intent.GROCERY_REQUEST,
                                                         Intent.LIST_QUERY]


async def test_wrong_label_malformed_and_truncated_answers_are_rejected_without_retry() -> None:
    with FakeOpenAI() as server:
        server.plans += [
            Plan(content=json.dumps({"intents": [{"intent": "DELETE_EVERYTHING",
                                                  "entities": {}}]})),
            Plan(content='{"intents": [{"intent": "LIST_QU'),
            Plan(content=json.dumps({"intents": [{"intent": "OTHER", "entities": {}}]}),
                 finish_reason="length"),
        ]
        llm = client(server)
        assert (await llm.ask("one", "en", TOP)).outcome is Outcome.REJECTED
        assert (await llm.ask("two", "en", TOP)).outcome is Outcome.REJECTED
        assert (await llm.ask("three", "en", TOP)).outcome is Outcome.TRUNCATED
    assert len(server.requests) == 3
    assert not llm.circuit_open


async def test_endpoint_refusing_json_schema_gets_json_object_from_then_on() -> None:
    with FakeOpenAI(refuse_json_schema=True) as server:
        server.answer(("LIST_QUERY", {}))
        server.answer(("OTHER", {}))
        llm = client(server)
        assert await llm.propose("what do we need", "en", TOP) == [(Intent.LIST_QUERY, {})]
        assert await llm.propose("hi there", "en", TOP) == [(Intent.OTHER, {})]
    formats = [r["response_format"]["type"] for r in server.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert llm.json_schema_supported is False


async def test_llama_cpp_python_refusing_json_schema_with_a_500_switches_once_with_the_schema(
        ) -> None:
    with FakeOpenAI(refuse_json_schema=500) as server:
        server.answer(("LIST_QUERY", {}))
        server.answer(("GROCERY_REQUEST", {"items": [{"name": "خبز"}]}))
        llm = client(server, backoff=5.0)
        started = time.perf_counter()
        first = await llm.ask("شو ناقصنا", "ar", TOP)
        second = await llm.ask("بدنا خبز", "ar", TOP)
        elapsed = time.perf_counter() - started
    assert (first.outcome, second.outcome) == (Outcome.VALID, Outcome.VALID)
    # The refusal is not a transient error: no backoff, no retry, no breaker.
    assert elapsed < 4.0 and llm.counts[Outcome.FAILED] == 0
    formats = [r["response_format"] for r in server.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    # json_object carries the schema, so a grammar keeps the labels inside the enum.
    enum = formats[1]["schema"]["properties"]["intents"]["items"]["properties"]["intent"]["enum"]
    assert set(enum) == {i.value for i in Intent}


async def test_a_422_naming_json_schema_also_switches() -> None:
    with FakeOpenAI(refuse_json_schema=422) as server:
        server.answer(("OTHER", {}))
        llm = client(server)
        assert (await llm.ask("hello", "en", TOP)).outcome is Outcome.VALID
    assert llm.json_schema_supported is False


async def test_other_server_errors_stay_transient_and_keep_json_schema() -> None:
    with FakeOpenAI() as server:
        server.plans.append(Plan(status=500))
        server.answer(("CLEAR_LIST", {}))
        llm = client(server)
        assert await llm.propose("done shopping", "en", TOP) == [(Intent.CLEAR_LIST, {})]
    assert [r["response_format"]["type"] for r in server.requests] == ["json_schema"] * 2
    assert llm.json_schema_supported is True


async def test_instructions_and_labels_survive_a_template_that_drops_the_system_role() -> None:
    with FakeOpenAI(drop_system_role=True, refuse_json_schema=500) as server:
        server.answer(("RECIPE_SEARCH", {"dish": "סושי"}))
        llm = client(server)
        result = await llm.ask("אני רוצה לעשות סושי בבית", "he", TOP)
    assert result.outcome is Outcome.VALID
    assert result.proposal == [(Intent.RECIPE_SEARCH, {"dish": "סושי"})]
    seen = server.seen[-1]
    assert [m["role"] for m in seen] == ["user"]
    assert all(label.value in seen[0]["content"] for label in Intent)


async def test_without_its_instructions_the_model_only_echoes_and_is_rejected() -> None:
    # The fake's Gemma quirk itself: a prompt whose labels sit only in the system turn.
    with FakeOpenAI(drop_system_role=True) as server:
        llm = client(server)
        from openai import AsyncOpenAI

        raw = AsyncOpenAI(base_url=server.base_url, api_key="k")
        response = await raw.chat.completions.create(
            model="m", messages=[{"role": "system", "content": "Labels: OTHER"},
                                 {"role": "user", "content": "hi"}],
            response_format={"type": "json_object", "schema": {"title": "intents"}})
        await raw.close()
    assert parse_answer(response.choices[0].message.content) is None
    assert llm.counts == {}


async def test_few_shot_examples_come_in_the_messages_language() -> None:
    with FakeOpenAI() as server:
        server.plans += [Plan(content='{"intents": [{"intent": "OTHER", "entities": {}}]}')] * 3
        llm = client(server)
        await llm.ask("מה חסר לנו", "he", TOP)
        await llm.ask("شو ناقصنا", "ar", TOP)
        await llm.ask("what's missing", "en", TOP)
    he, ar, en = (r["messages"][-1]["content"] for r in server.requests)
    assert "חלב" in he and "حليب" not in he
    assert "حليب" in ar and "חלב" not in ar
    assert "milk" in en and "חלב" not in en


async def test_every_request_is_bounded_and_a_runaway_is_cut_without_delaying_the_next() -> None:
    # One answer at a time, as llama.cpp generates; the first message's model never stops.
    with FakeOpenAI(serial=True, token_seconds=0.002) as server:
        server.plans.append(Plan(runaway=True))
        server.answer(("LIST_QUERY", {}))
        llm = client(server, timeout=3.5)
        started = time.perf_counter()
        runaway = await llm.ask("blah blah", "en", TOP)
        after = await llm.ask("what's on the list", "en", TOP)
        elapsed = time.perf_counter() - started
    assert runaway.outcome is Outcome.TRUNCATED and after.outcome is Outcome.VALID
    assert all(0 < r["max_tokens"] <= 400 for r in server.requests)
    assert len(server.requests) == 2  # a truncated answer is not asked again
    # Without max_tokens the runaway alone would take the whole context: 2048 × 2 ms.
    assert elapsed < 3.5


async def test_an_abandoned_answer_stops_generating_so_the_next_message_does_not_wait() -> None:
    # 400 tokens at 20 ms: an eight-second answer on a server that generates one at a time.
    with FakeOpenAI(serial=True, token_seconds=0.02) as server:
        server.plans.append(Plan(runaway=True))
        server.answer(("LIST_QUERY", {}))
        llm = client(server, timeout=0.5, max_tokens=400)
        given_up = await llm.ask("blah blah", "en", TOP)
        started = time.perf_counter()
        after = await llm.ask("what's on the list", "en", TOP)
        waited = time.perf_counter() - started
    assert given_up.outcome is Outcome.TIMEOUT and given_up.seconds < 0.8
    assert after.outcome is Outcome.VALID
    assert waited < 2.0  # not the 7.5 s the abandoned answer had left
    assert server.abandoned == 1


async def test_one_slow_call_never_holds_the_next_message_past_the_timeout() -> None:
    with FakeOpenAI() as server:
        server.plans += [Plan(delay=3.0, content="{}"),
                         Plan(content='{"intents": [{"intent": "OTHER", "entities": {}}]}')]
        llm = client(server, timeout=0.5, concurrency=1)

        async def timed(text: str) -> tuple[Outcome, float]:
            started = time.perf_counter()
            result = await llm.ask(text, "en", TOP)
            return result.outcome, time.perf_counter() - started

        slow, queued = await asyncio.gather(timed("slow"), timed("next"))
    assert slow[0] is Outcome.TIMEOUT and slow[1] < 1.0
    # The second message waited for the only slot, but never longer than its own deadline
    # (it may just get the slot in time, as the first gives up).
    assert queued[0] in (Outcome.TIMEOUT, Outcome.VALID) and queued[1] < 1.0
    # A timeout is not retried into a busy server.
    assert [data_line(r)["message"] for r in server.requests].count("slow") == 1


async def test_rate_limit_then_success_is_retried() -> None:
    with FakeOpenAI() as server:
        server.plans.append(Plan(status=429))
        server.answer(("CLEAR_LIST", {}))
        assert await client(server).propose("done shopping", "en", TOP) == [
            (Intent.CLEAR_LIST, {})]
    assert len(server.requests) == 2


async def test_a_slow_server_times_out_to_no_answer() -> None:
    with FakeOpenAI() as server:
        server.plans += [Plan(delay=1.0, content="{}")] * 3
        llm = client(server, timeout=0.2)
        llm.retries = 0
        assert await llm.propose("slow", "en", TOP) is None
    assert llm.counts[Outcome.TIMEOUT] == 1


async def test_repeated_server_errors_open_the_circuit() -> None:
    with FakeOpenAI() as server:
        server.plans += [Plan(status=500)] * 20
        llm = client(server, breaker_failures=2, breaker_cooldown=60)
        llm.retries = 0
        for text in ("a", "b", "c", "d"):
            assert await llm.propose(text, "en", TOP) is None
        assert llm.circuit_open
        assert len(server.requests) == 2  # the open circuit skipped the rest
    summary = llm.summary()
    assert (summary["asked"], summary["answered"], summary["failed"], summary["circuit"]) == (
        4, 0, 2, 2)


async def test_recent_answers_are_cached() -> None:
    with FakeOpenAI() as server:
        server.answer(("LIST_QUERY", {}))
        llm = client(server)
        await llm.propose("מה חסר", "he", TOP)
        assert await llm.propose("מה חסר", "he", TOP) == [(Intent.LIST_QUERY, {})]
    assert len(server.requests) == 1


async def test_the_probe_learns_the_format_before_the_first_message() -> None:
    with FakeOpenAI(refuse_json_schema=500) as server:
        llm = client(server)
        assert await llm.probe() is False
        server.answer(("OTHER", {}))
        assert (await llm.ask("hi", "en", TOP)).outcome is Outcome.VALID
    assert "/v1/models" in server.paths
    assert server.requests[-1]["response_format"]["type"] == "json_object"


async def test_dish_ingredients_are_bounded_and_follow_the_switch() -> None:
    with FakeOpenAI(refuse_json_schema=500, drop_system_role=True) as server:
        server.plans.append(Plan(content=json.dumps({"ingredients": [
            {"name": "אורז לסושי", "quantity": 1, "unit": "ק\"ג"},
            {"name": "אצות נורי", "quantity": None, "unit": None}]}, ensure_ascii=False)))
        items = await client(server).ingredients("סושי", "he")
    assert [i.name for i in items or []] == ["אורז לסושי", "אצות נורי"]
    request = server.requests[-1]
    assert request["response_format"]["type"] == "json_object"
    assert "ingredients" in json.dumps(request["response_format"]["schema"])
    assert request["max_tokens"] > 0
    assert "סושי" in server.seen[-1][0]["content"]


def test_smuggled_json_outside_the_schema_is_not_an_answer() -> None:
    assert parse_answer('{"intent": "CLEAR_LIST"}') is None
    assert parse_answer('{"intents": [], "extra": 1}') is None
    assert parse_answer("sure! here you go") is None
