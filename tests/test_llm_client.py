"""The real LLM client against a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import json

from router.llm import LlmClient, parse_answer
from router.types import Intent, Scored
from tests.support.fake_openai import FakeOpenAI, Plan

TOP = (Scored(Intent.GROCERY_REQUEST, 0.4), Scored(Intent.OTHER, 0.3),
       Scored(Intent.LIST_QUERY, 0.1))


def client(server: FakeOpenAI, **kwargs: float) -> LlmClient:
    options = {"timeout": 2.0, "backoff": 0.01, **kwargs}
    return LlmClient(base_url=server.base_url, api_key="test", model="fake-model",
                     **options)  # type: ignore[arg-type]


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
    assert json.loads(sent["messages"][1]["content"])["message"] == "תביא לי 2 חלב"


async def test_two_intents_keep_the_users_order() -> None:
    with FakeOpenAI() as server:
        server.answer(("GROCERY_REQUEST", {"items": [{"name": "bread"}]}), ("LIST_QUERY", {}))
        proposal = await client(server).propose("add bread and show me the list", "en", TOP)
    assert [intent for intent, _e in proposal or []] == [Intent.GROCERY_REQUEST,
                                                         Intent.LIST_QUERY]


async def test_wrong_label_malformed_and_truncated_answers_are_rejected() -> None:
    with FakeOpenAI() as server:
        server.plans += [
            Plan(content=json.dumps({"intents": [{"intent": "DELETE_EVERYTHING",
                                                  "entities": {}}]})),
            Plan(content='{"intents": [{"intent": "LIST_QU'),
            Plan(content=json.dumps({"intents": [{"intent": "OTHER", "entities": {}}]}),
                 finish_reason="length"),
        ]
        llm = client(server)
        assert await llm.propose("one", "en", TOP) is None
        assert await llm.propose("two", "en", TOP) is None
        assert await llm.propose("three", "en", TOP) is None


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


async def test_repeated_server_errors_open_the_circuit() -> None:
    with FakeOpenAI() as server:
        server.plans += [Plan(status=500)] * 20
        llm = client(server, breaker_failures=2, breaker_cooldown=60)
        llm.retries = 0
        for text in ("a", "b", "c", "d"):
            assert await llm.propose(text, "en", TOP) is None
        assert llm.circuit_open
        assert len(server.requests) == 2  # the open circuit skipped the rest


async def test_recent_answers_are_cached() -> None:
    with FakeOpenAI() as server:
        server.answer(("LIST_QUERY", {}))
        llm = client(server)
        await llm.propose("מה חסר", "he", TOP)
        assert await llm.propose("מה חסר", "he", TOP) == [(Intent.LIST_QUERY, {})]
    assert len(server.requests) == 1


def test_smuggled_json_outside_the_schema_is_not_an_answer() -> None:
    assert parse_answer('{"intent": "CLEAR_LIST"}') is None
    assert parse_answer('{"intents": [], "extra": 1}') is None
    assert parse_answer("sure! here you go") is None
