"""What /metrics says about the LLM: calls by outcome, errors, the breaker (issue 11)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from bot.metrics import LlmCounts, render
from router.llm import LlmClient
from router.types import Intent, Scored
from tests.support.fake_openai import FakeOpenAI, Plan

TOP = [Scored(Intent.GROCERY_REQUEST, 0.5), Scored(Intent.OTHER, 0.3),
       Scored(Intent.LIST_QUERY, 0.2)]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_llm_answers_failures_and_an_open_breaker_show_in_the_metrics() -> None:
    before = (sample("shopbot_llm_calls_total", outcome="valid"),
              sample("shopbot_llm_calls_total", outcome="failed"),
              sample("shopbot_llm_errors_total"))
    counts = LlmCounts()
    with FakeOpenAI() as server:
        server.answer(("LIST_QUERY", {}))
        server.plans += [Plan(status=500)] * 10
        llm = LlmClient(base_url=server.base_url, api_key="test", model="fake-model",
                        timeout=2.0, backoff=0.01, breaker_failures=2,
                        breaker_cooldown=60)
        llm.retries = 0
        assert await llm.propose("what do we need", "en", TOP) == [(Intent.LIST_QUERY, {})]
        counts.sync(llm.counts, llm.circuit_open)
        assert sample("shopbot_llm_calls_total", outcome="valid") == before[0] + 1
        assert sample("shopbot_llm_breaker_open") == 0
        for text in ("a", "b", "c"):
            assert await llm.propose(text, "en", TOP) is None
        counts.sync(llm.counts, llm.circuit_open)
        # Copied twice, counted once: the second copy adds only what happened since.
        counts.sync(llm.counts, llm.circuit_open)
    assert sample("shopbot_llm_calls_total", outcome="valid") == before[0] + 1
    assert sample("shopbot_llm_calls_total", outcome="failed") == before[1] + 2
    assert sample("shopbot_llm_calls_total", outcome="circuit") >= 1
    assert sample("shopbot_llm_errors_total") == before[2] + 2
    assert sample("shopbot_llm_breaker_open") == 1
    assert b'shopbot_llm_breaker_open 1.0' in render()
