"""Shared pieces of the fuzz tests (test_fuzz_server.py, test_fuzz_inputs.py): the
example budget, the one-line rule, and value strategies for hostile JSON."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.helpers.paths import REPO

EXAMPLES = 1000
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TRANSCRIPT = REPO / "tests" / "fixtures" / "transcripts" / "silent_prospect.jsonl"
SALES = REPO / "assistant" / "coach" / "playbooks" / "sales-call.toml"
SERVER_TYPES = {"snapshot", "caption", "card", "card_closed", "metrics", "status", "ack", "error"}


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> None:
        self.n += 1


def one_line(message: str, limit: int = 600) -> None:
    assert message and "\n" not in message and "Traceback" not in message, message
    assert len(message) <= limit, message


# -- shared value strategies --------------------------------------------------------------

huge_ints = st.integers() | st.builds(
    lambda digits, sign: sign * (10**digits + 7), st.integers(0, 420), st.sampled_from([1, -1])
)
odd_floats = st.floats(allow_nan=True, allow_infinity=True)
any_text = st.text(st.characters(codec="utf-8"), max_size=40) | st.text(max_size=40)
json_scalars = st.none() | st.booleans() | huge_ints | odd_floats | any_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


def deep(kind: str) -> st.SearchStrategy[str]:
    return st.integers(10, 5000).map(lambda n: kind[0] * n + kind[1] * n)
