"""How many messages one invocation of a queue's worker takes (its event source mapping's batch size):
read by the stack (infra/stack.py) and by the local stack's queue pump (devstack/stack.py), so the
pump hands a function what Lambda would. No CDK here: the local stack imports it."""
from __future__ import annotations

#: Event source mappings hand a function up to this many messages at once.
BATCH_SIZE = 10
#: A billing or review shard message takes a whole invocation (it pages until its time runs low, then
#: sends itself on); an import's message (a chunk, or the split of a file) too: docs/decisions/0036.
BATCH_SIZES = {"issue_bills": 1, "open_reviews": 1, "run_imports": 1}


def batch_size(function: str) -> int:
    return BATCH_SIZES.get(function, BATCH_SIZE)
