"""Property: any canonical JSON object round-trips through a vault and verifies its commitment."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault_support import SUBJECT, SUITE_NAMES, create_vault
from reliefledger.ledger import limits

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-limits.INTEGER_ABSOLUTE_MAX, max_value=limits.INTEGER_ABSOLUTE_MAX),
    st.text(max_size=40),
)
keys = st.text(max_size=12)


def json_values(depth: int) -> st.SearchStrategy:
    """JSON values without floats, nested at most ``depth`` levels."""
    if depth == 0:
        return leaves
    inner = json_values(depth - 1)
    return st.one_of(leaves, st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4))


records = st.dictionaries(keys, json_values(3), max_size=6)


@pytest.fixture(scope="module", params=SUITE_NAMES)
def shared_vault(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    vault = create_vault(tmp_path_factory.mktemp("vault") / "vault.sqlite", request.param)
    yield vault
    vault.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records)
def test_any_json_object_round_trips_and_verifies(shared_vault, record):
    receipt = shared_vault.put(subject=SUBJECT, kind="case-notes", record=record, owner="civil-affairs")
    stored = shared_vault.get(receipt.record_id)
    assert stored.record == record
    assert stored.commitment == receipt.commitment
    assert shared_vault.verify_commitment(receipt.record_id, receipt.commitment)
