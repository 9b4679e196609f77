"""Fuzzing the civil-registration client's callbacks (``/dci/crvs/registry/notify`` and
``/registry/on-subscribe``, which the civil registry calls) from crvs_api_v1.0.0.yaml with
schemathesis, as ``test_registries_fuzz.py`` fuzzes the registries: valid and invalid requests
against a node following the simulated civil registry over real HTTP. No 5xx, every response as
the specification says; valid envelopes are signed as the registry itself (its key, its token),
so generated births and deaths reach the code that applies them. Derandomised, as there."""

from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from interop_support import Partner
from reliefledger.interop.specs import load_spec
from test_registries_fuzz import serve_in_thread, sign_as_partner
from world import World

SERVED = r"^/registry/(notify|on-subscribe)$"
"""The operations the node serves as the registry's subscriber."""

schema = schemathesis.openapi.from_dict(load_spec("crvs", "/dci/crvs")).include(path_regex=SERVED)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A world following the simulated civil registry, served from a thread of its own."""
    async def prepare(world: World) -> dict[str, Any]:
        assert world.crvs is not None and world.crvs.subscriber is not None
        token = (await world.http.post(f"{world.url}/oauth2/client/token", data={"grant_type": "client_credentials", "client_id": "crvs",
                                                                              "client_secret": world.crvs.subscriber.client_secret})).json()["access_token"]
        registry = Partner(sender_id=world.crvs.sender_id, key=world.crvs.key)
        return {"url": world.url, "headers": {"Authorization": f"Bearer {token}"}, "world": world, "registry": registry}
    yield from serve_in_thread(tmp_path_factory.mktemp("crvs-fuzz"), prepare, civil_registry=True)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_civil_registration_callbacks_answer_whatever_they_are_sent_as_the_specification_says(case: Any, served: dict[str, Any]) -> None:
    excluded = [schemathesis.checks.negative_data_rejection] if (case.media_type or "").startswith("multipart/") else []
    if isinstance(case.body, dict) and isinstance(case.body.get("header"), dict):
        case.body["header"].setdefault("sender_id", served["registry"].sender_id)  # a callback header may leave it out; this node requires it
    sign_as_partner(case, served["world"], served["registry"])
    case.call_and_validate(base_url=served["url"] + "/dci/crvs", headers=served["headers"], excluded_checks=excluded)
