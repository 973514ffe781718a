"""`/v1/chat/completions` and `/v1/models` through the official `openai` client, real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from indexer.kernel.settings import Settings
from tests.browser import serve
from tests.conftest import SEEDS_DIR
from tests.fake_pipeline import ScriptedPipeline, passage_for, standin_app

HUAWEI = SEEDS_DIR / "000_036ae5c0f0d48a4b.txt"
ANSWER = "Huawei has 16 R&D centers [1]."

pytestmark = pytest.mark.slow  # starts uvicorn


@pytest.fixture
def pipeline() -> ScriptedPipeline:
    return ScriptedPipeline([passage_for(HUAWEI, 16)], ANSWER)


@pytest.fixture
def base(pipeline: ScriptedPipeline) -> Iterator[str]:
    with serve(standin_app(Settings(collection="news"), pipeline)) as url:
        yield url


@pytest.fixture
def client(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)


def test_models_lists_alias_and_collection(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["citeline", "news"]


def test_non_streaming_completion(client: openai.OpenAI, pipeline: ScriptedPipeline) -> None:
    reply = client.chat.completions.create(
        model="news", messages=[{"role": "user", "content": "How many R&D centers?"}]
    )
    assert reply.object == "chat.completion"
    message = reply.choices[0].message
    assert message.role == "assistant" and message.content == ANSWER
    assert reply.choices[0].finish_reason == "stop"
    citations = message.model_extra["citations"]  # type: ignore[index]
    assert citations[0]["n"] == 1 and citations[0]["line_start"] == 16
    assert "16 R&D centers" in citations[0]["quote"]
    ext = reply.model_extra["citeline"]  # type: ignore[index]
    assert ext["answerable"] is True and ext["standalone_question"] == "How many R&D centers?"
    assert pipeline.questions == ["How many R&D centers?"]


def test_streaming_completion(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="citeline",
        messages=[{"role": "user", "content": "How many R&D centers?"}],
        stream=True,
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == ANSWER and len(chunks) > 4
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    ext = last.model_extra["citeline"]  # type: ignore[index]
    assert ext["answer"] == ANSWER and ext["citations"][0]["source"] == HUAWEI.name


def test_stream_ends_with_done_and_survives_heartbeats(base: str) -> None:
    with httpx.stream(
        "POST",
        base + "/v1/chat/completions",
        json={"model": "citeline", "messages": [{"role": "user", "content": "q"}], "stream": True},
    ) as r:
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert r.headers["x-accel-buffering"] == "no"


def test_unknown_model_is_openai_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "q"}])
    body = info.value.response.json()
    assert body["error"]["code"] == "model_not_found"
    assert body["error"]["type"] == "invalid_request_error" and "gpt-4o" in body["error"]["message"]


def test_error_mid_stream_raises_in_client() -> None:
    failing = ScriptedPipeline([passage_for(HUAWEI, 16)], ANSWER, fail_after=1)
    with serve(standin_app(Settings(), failing)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="citeline", messages=[{"role": "user", "content": "q"}], stream=True
        )
        with pytest.raises(openai.APIError, match="the LLM server went away"):
            list(stream)


def test_no_user_message_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="citeline", messages=[{"role": "system", "content": "be nice"}]
        )


def test_follow_up_is_condensed_before_retrieval(
    client: openai.OpenAI, pipeline: ScriptedPipeline
) -> None:
    client.chat.completions.create(
        model="citeline",
        messages=[
            {"role": "user", "content": "How many R&D centers does Huawei have?"},
            {"role": "assistant", "content": ANSWER},
            {"role": "user", "content": "and how many joint-innovation centers?"},
        ],
    )
    assert pipeline.questions == ["How many joint-innovation centers (R&D, Huawei)?"]
