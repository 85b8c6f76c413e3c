"""``scripted``: an offline model provider that replays scripts, for tests and self-tests.

``--model scripted/reference`` replays each sample's reference solution from the catalog
(the task is named by the marker line in its prompt): its tool calls one per turn, then
``submit()`` with the reference answer. ``--model scripted/null`` submits an empty answer
at once. Token counting is a character heuristic, so nothing is ever downloaded (Inspect's
default counts with tiktoken, which fetches ``o200k_base``).

Model args (``-M``): ``tasks_dir`` reads references from another task tree.
"""

import re
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from frontiersec.evals.catalog import TaskSpec, load_tasks
from frontiersec.evals.inspect_bridge.tasks import find_task_marker

__all__ = ["SCRIPTS", "ScriptedModelAPI", "scripted"]

SCRIPTS: tuple[str, ...] = ("reference", "null")
SUBMIT_TOOL = "submit"


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class ScriptedModelAPI(ModelAPI):
    """Replays a named script; see the module docstring."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        tasks_dir: str | None = None,
        **model_args: Any,  # noqa: ARG002 - Inspect passes every -M arg
    ) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        if model_name not in SCRIPTS:
            raise ValueError(f"unknown script {model_name!r}; known: {', '.join(SCRIPTS)}")
        self._tasks_dir = Path(tasks_dir) if tasks_dir else None
        self._specs: dict[str, TaskSpec] | None = None

    def _spec(self, task_id: str) -> TaskSpec:
        if self._specs is None:
            self._specs = {s.id: s for s in load_tasks(self._tasks_dir)}
        return self._specs[task_id]

    async def count_text_tokens(self, text: str) -> int:
        """Characters / 4: no tokenizer, no download."""
        return _estimate_tokens(text)

    async def count_tokens(
        self,
        input: str | list[ChatMessage],
        config: GenerateConfig | None = None,  # noqa: ARG002
    ) -> int:
        """Characters / 4 over every message's text."""
        if isinstance(input, str):
            return _estimate_tokens(input)
        return sum(_estimate_tokens(m.text) for m in input)

    def max_connections(self) -> int:
        """Nothing is remote: let the eval's own limits decide parallelism."""
        return 64

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],  # noqa: ARG002 - a script ignores the tools on offer
        tool_choice: ToolChoice,  # noqa: ARG002
        config: GenerateConfig,  # noqa: ARG002
    ) -> ModelOutput:
        """The next step of the script for the task named in the first user message."""
        turn = sum(1 for m in input if isinstance(m, ChatMessageAssistant))
        call_id = f"scripted_{turn}"
        if self.model_name == "null":
            return self._submit("", call_id)
        task_id = next(
            (tid for m in input if isinstance(m, ChatMessageUser) and (tid := find_task_marker(m.text))),
            None,
        )
        if task_id is None:
            return self._submit("", call_id)
        ref = self._spec(task_id).reference
        if turn < len(ref.steps):
            step = ref.steps[turn]
            return ModelOutput.for_tool_call(
                model=self.model_name,
                tool_name=step.tool,
                tool_arguments=dict(step.arguments),
                tool_call_id=call_id,
            )
        if ref.submit_regex is not None:
            pattern = re.compile(ref.submit_regex)
            outputs = [m.text for m in input if isinstance(m, ChatMessageTool)]
            found = next((mt.group(0) for out in reversed(outputs) if (mt := pattern.search(out))), "")
            return self._submit(found, call_id)
        return self._submit(self._spec(task_id).reference_answer_text() or "", call_id)

    def _submit(self, answer: str, call_id: str) -> ModelOutput:
        return ModelOutput.for_tool_call(
            model=self.model_name,
            tool_name=SUBMIT_TOOL,
            tool_arguments={"answer": answer},
            tool_call_id=call_id,
        )


@modelapi(name="scripted")
def scripted() -> type[ModelAPI]:
    """Register the ``scripted`` provider with Inspect."""
    return ScriptedModelAPI
