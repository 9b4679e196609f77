"""Fuzzing the G2P Connect mapper and disburse endpoints from their specifications (schemathesis),
as ``test_registries_fuzz.py`` fuzzes the registries: valid and invalid requests generated from
the mended g2p_mapper_core_api_v1.0.0.yaml and g2p_disburse_core_api_v1.0.0.yaml against a node
serving over real HTTP, with money on the ledger to move. No 5xx, every response as the
specification says, valid envelopes signed as the partner so the fuzzer reaches the links and
payments behind the door. Derandomised, as there."""

from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from g2p_support import G2P, open_money
from reliefledger.interop.specs import load_spec
from test_registries_fuzz import serve_in_thread, sign_as_partner
from world import World

MAPPER_SERVED = r"^/(mapper/(link|update|unlink|resolve|txn/status|sync/(link|update|unlink|resolve))|registry/sync/txn/status)$"
DISBURSE_SERVED = r"^/disburse(/search|/txn/status|/sync/(disburse|search|txn/status))?$"
"""The operations served (the on-… paths are the partner's)."""

mapper_schema = schemathesis.openapi.from_dict(load_spec("mapper", "/g2p")).include(path_regex=MAPPER_SERVED)
disburse_schema = schemathesis.openapi.from_dict(load_spec("disburse", "/g2p")).include(path_regex=DISBURSE_SERVED)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A world with the G2P client and money, served from a thread of its own for the module."""
    async def prepare(world: World) -> dict[str, Any]:
        await open_money(world)
        g2p = G2P.of(world)
        return {"url": world.url, "headers": await g2p.bearer(), "world": world, "partner": g2p.partner}
    yield from serve_in_thread(tmp_path_factory.mktemp("g2p-fuzz"), prepare, g2p=True)


def call(case: Any, served: dict[str, Any]) -> None:
    excluded = [schemathesis.checks.negative_data_rejection] if (case.media_type or "").startswith("multipart/") else []
    sign_as_partner(case, served["world"], served["partner"])
    case.call_and_validate(base_url=served["url"] + "/g2p", headers=served["headers"], excluded_checks=excluded)


@mapper_schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_mapper_answers_whatever_it_is_sent_as_its_specification_says(case: Any, served: dict[str, Any]) -> None:
    call(case, served)


@disburse_schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_disburse_answers_whatever_it_is_sent_as_its_specification_says(case: Any, served: dict[str, Any]) -> None:
    call(case, served)
