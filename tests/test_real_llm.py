"""The real model: Qwen2.5-Coder-1.5B-Instruct through xllamacpp (`make test-llm` only).

Run by `make test-llm` (marker `llm`; `make test` deselects it), after `make setup-llm` installed
the runtime and assembled the verified weights. Three things are proved with the real model:

- the wire: the model's own OpenAI-compatible port on 127.0.0.1 answers the official `openai`
  client, plain and streamed, and the `openai` answerer's answers through it are verified or
  honestly refused (this replaced a llama.cpp build that compiled for ~12 minutes);
- quality floors on a fixed subset of the gold questions with the default local answerer (the
  joined reader): key facts, the cited sentence holding the fact, abstention, verbatim quotes;
- the README's promise: the question it shows is answered with a correct citation, and "What is
  the capital of Australia?" is refused, streamed as well as plain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from evals import metrics as m
from indexer.embedding.factory import build_embedder
from indexer.kernel.settings import Settings
from indexer.sync import sync_corpus
from tests.conftest import REPO_ROOT, SEEDS_DIR

pytestmark = [pytest.mark.llm, pytest.mark.slow, pytest.mark.timeout(1200)]

MODEL = Settings().resolved_local_model_path
# A fixed subset: both styles, fact/why/list/comparison, off-topic and near-miss unanswerables.
SUBSET = [
    "huawei-rd-centers", "huawei-apec-speaker", "huawei-partners-grow", "p-huawei-humble-origins",
    "p-byd-target-regions", "p-harvard-case-count", "na-australia-capital", "na-byd-founder",
    "na-p-everest-height",
]  # fmt: skip
FLOORS = {"key_fact_recall": 0.6, "cited_fact_rate": 0.9, "abstention_accuracy": 0.66}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MODEL.is_file():
        pytest.skip("run through `make test-llm`, which installs xllamacpp and the model")
    pytest.importorskip("xllamacpp")
    data = tmp_path_factory.mktemp("llm-data")
    settings = Settings(data_dir=data, corpus_dir=SEEDS_DIR)
    sync_corpus(settings, SEEDS_DIR, embedder=build_embedder(settings), progress=False)
    return data


def _settings(data: Path, **extra: Any) -> Settings:
    return Settings(data_dir=data, corpus_dir=SEEDS_DIR, local_model_path=MODEL,
                    answerer="local", **extra)  # fmt: skip


@pytest.fixture(scope="module")
def pipeline(indexed: Path) -> Any:
    from service.pipeline import build_pipeline

    built = build_pipeline(_settings(indexed))
    built.warm_up()  # loads the model (sha256 checked first); readiness then passes
    built.check_ready()
    return built


@pytest.fixture(scope="module")
def server(pipeline: Any) -> Iterator[tuple[str, str]]:
    """The loaded model's own OpenAI-compatible port (127.0.0.1) and its per-process key."""
    from service.answering.local_llm import local_model

    model = local_model(pipeline.settings)
    assert model.loaded and model.base_url.startswith("http://127.0.0.1:")
    yield model.base_url, model.key


def test_official_client_plain_and_streamed(server: tuple[str, str]) -> None:
    from openai import AuthenticationError, OpenAI

    base, key = server
    client = OpenAI(base_url=base, api_key=key)
    # Greedy and several tokens long, so the streamed reply must arrive in several chunks (a
    # sampled "Hi!" could come as one).
    msg = [{"role": "user", "content": "Count from one to ten in words, separated by commas."}]
    plain = client.chat.completions.create(model="local", messages=msg, max_tokens=12,  # type: ignore[arg-type]
                                           temperature=0)  # fmt: skip
    assert plain.choices[0].message.content
    chunks = list(client.chat.completions.create(model="local", messages=msg, max_tokens=12,  # type: ignore[arg-type]
                                                 temperature=0, stream=True))  # fmt: skip
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 2
    stranger = OpenAI(base_url=base, api_key="wrong", max_retries=0)
    with pytest.raises(AuthenticationError):  # the port answers this process only
        stranger.chat.completions.create(model="local", messages=msg, max_tokens=4)  # type: ignore[arg-type]


def test_openai_answerer_through_a_real_server_is_verified(
    server: tuple[str, str], indexed: Path
) -> None:
    from service.pipeline import build_pipeline

    base, key = server
    settings = Settings(data_dir=indexed, corpus_dir=SEEDS_DIR, answerer="openai",
                        llm_base_url=base, llm_api_key=key, llm_model="local",
                        llm_max_tokens=100, llm_timeout_s=120)  # fmt: skip
    answer = build_pipeline(settings).ask("How many R&D centers does Huawei have?")
    assert answer.answerer.startswith("openai")
    for cit in answer.citations:  # whatever the model wrote, only verified citations survive
        text = (SEEDS_DIR / cit.source).read_text(encoding="utf-8")
        assert text[cit.char_start : cit.char_end] == cit.quote
    assert answer.answerable == bool(answer.citations)


def test_the_readme_question_is_answered_and_cited(pipeline: Any) -> None:
    answer = pipeline.ask("How many R&D centers does Huawei have?")
    assert answer.answerable and "16" in answer.answer, answer.answer
    assert any("16 R&D centers" in c.quote for c in answer.citations)
    refused = pipeline.ask("What is the capital of Australia?")
    assert not refused.answerable and refused.citations == []


def test_streaming_ends_with_the_verified_answer(pipeline: Any) -> None:
    events = list(pipeline.stream_ask("How many R&D centers does Huawei have?"))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "PassagesEvent" and kinds[-1] == "DoneEvent"
    assert "TokenEvent" in kinds
    final = next(e for e in events if type(e).__name__ == "FinalEvent")
    assert final.answerable and any("16 R&D centers" in c.quote for c in final.citations)


def test_quality_floors_on_a_fixed_subset(pipeline: Any) -> None:
    gold = yaml.safe_load((REPO_ROOT / "evals" / "gold.yaml").read_text(encoding="utf-8"))
    questions = {q["id"]: q for q in gold["questions"]}
    facts, stated, held, refusals, unanswerable = [], 0, 0, 0, 0
    for qid in SUBSET:
        q = questions[qid]
        answer = pipeline.ask(q["question"])
        print(f"\n{qid}: {json.dumps(answer.answer)[:200]}")
        for cit in answer.citations:
            text = (SEEDS_DIR / cit.source).read_text(encoding="utf-8")
            assert text[cit.char_start : cit.char_end] == cit.quote  # quote validity 1.0
        if not q.get("answerable", True):
            unanswerable += 1
            refusals += not answer.answerable and not answer.citations
            continue
        facts.append(m.key_fact_recall(q["key_facts"], answer.answer))
        s, h = m.facts_cited(q["key_facts"], answer.answer,
                             {c.n: c.quote for c in answer.citations})  # fmt: skip
        stated, held = stated + s, held + h
    scores = {
        "key_fact_recall": sum(facts) / len(facts),
        "cited_fact_rate": held / stated if stated else 0.0,
        "abstention_accuracy": refusals / unanswerable,
    }
    print("\nsubset:", scores)
    for name, floor in FLOORS.items():
        assert scores[name] >= floor, (name, scores)
