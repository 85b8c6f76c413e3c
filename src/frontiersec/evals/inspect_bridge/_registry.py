"""Inspect AI entry point (``[project.entry-points.inspect_ai]``).

Importing this module registers frontiersec's tasks, the ``bwrap`` sandbox and the
offline ``scripted`` model provider with Inspect, so ``inspect eval frontiersec/<task>``
works as well as our own CLI.
"""

from frontiersec.evals.inspect_bridge import provider as provider
from frontiersec.evals.inspect_bridge import sandbox as sandbox
from frontiersec.evals.inspect_bridge import tasks as tasks
