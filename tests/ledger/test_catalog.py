"""The directory chain: catalogued resources, sharing requests, approvals, refusals, revocation."""

from typing import Any

import pytest

from helpers import Network
from reliefledger.ledger.contracts.catalog import get_approval_fault, get_request_key, get_resource_key
from reliefledger.ledger.results import ResultCode

OK = ResultCode.OK
TAX_OFFICER, CIVIL_OFFICER, CASEWORKER, TAX_CLERK = 20, 21, 22, 23
FIELDS = [{"name": "monthly_wages_fen", "type": "amount_fen", "predicate_allowed": True},
          {"name": "employer", "type": "string", "predicate_allowed": False},
          {"name": "tax_paid_fen", "type": "amount_fen", "predicate_allowed": True}]


@pytest.fixture
def network() -> Network:
    """Founders: civil-affairs (1), hrss (2), medical-security (3), all at 330100; hrss plays the tax bureau."""
    network = Network.create("ed25519-sha256")
    admissions = [
        network.sign(2, "admit_member", {"public_key": network.key(TAX_OFFICER).hex, "roles": ["data_officer"]}),
        network.sign(1, "admit_member", {"public_key": network.key(CIVIL_OFFICER).hex, "roles": ["data_officer"]}),
        network.sign(1, "admit_member", {"public_key": network.key(CASEWORKER).hex, "roles": ["caseworker"], "region": "330102001"}),
        network.sign(2, "admit_member", {"public_key": network.key(TAX_CLERK).hex, "roles": ["clerk"]}),
    ]
    assert network.run(*admissions) == [OK] * 4
    return network


def catalog(network: Network, signer: int, action: str, **args: Any):
    return network.sign(signer, action, args, contract="catalog")


def register(network: Network, resource_id: str = "tax.wages", sharing_class: str = "conditional", signer: int = TAX_OFFICER, **changes: Any):
    args = {"resource_id": resource_id, "name": "个人工资薪金所得", "fields": FIELDS, "legal_basis": "社会救助暂行办法 第十一条",
            "update_frequency": "monthly", "sharing_class": sharing_class, "level": "city", "region": "330100", **changes}
    return catalog(network, signer, "register_resource", **args)


def test_register_update_and_retire(network: Network) -> None:
    assert network.run(register(network), register(network)) == [OK, ResultCode.RESOURCE_EXISTS]
    resource = network.state.get(get_resource_key("tax.wages"))
    assert resource["owner"] == "hrss" and resource["version"] == 1 and resource["status"] == "active"
    assert network.run(
        register(network, "x.1", signer=TAX_CLERK),  # not a data officer
        register(network, "x.2", sharing_class="sometimes"),
        register(network, "x.3", fields=FIELDS + [FIELDS[0]]),
        register(network, "x.4", region="110000"),  # outside the officer's region
        catalog(network, CIVIL_OFFICER, "update_resource", resource_id="tax.wages", name="n", fields=FIELDS, legal_basis="b",
                update_frequency="monthly", sharing_class="unconditional", level="city", region="330100"),
    ) == [ResultCode.NOT_AUTHORISED, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS, ResultCode.NOT_AUTHORISED, ResultCode.NOT_AUTHORISED]
    update = catalog(network, TAX_OFFICER, "update_resource", resource_id="tax.wages", name="工资", fields=FIELDS[:2], legal_basis="b",
                     update_frequency="monthly", sharing_class="conditional", level="district", region="330100")
    assert network.run_one(update) is OK
    assert network.state.get(get_resource_key("tax.wages"))["version"] == 2
    assert network.run_one(catalog(network, TAX_OFFICER, "retire_resource", resource_id="tax.wages")) is OK
    assert network.state.get(get_resource_key("tax.wages"))["status"] == "retired"


def request(network: Network, request_id: str = "r1", fields: tuple[str, ...] = ("monthly_wages_fen",), signer: int = CIVIL_OFFICER, resource_id: str = "tax.wages"):
    return catalog(network, signer, "request_sharing", request_id=request_id, resource_id=resource_id, purpose="低保家庭经济状况核对",
                   fields=list(fields), legal_basis="社会救助暂行办法 第十一条")


def test_conditional_request_is_approved_narrowed_then_revoked(network: Network) -> None:
    network.run(register(network))
    assert network.run(request(network, fields=("monthly_wages_fen", "employer"))) == [OK]
    assert network.state.get(get_request_key("r1"))["status"] == "pending"
    now = network.time_ms
    assert get_approval_fault(network.state, "r1", "civil-affairs", ["monthly_wages_fen"], now) == "the request is pending"
    decide = lambda signer, **args: catalog(network, signer, "decide_request", request_id="r1", **args)  # noqa: E731
    expires = network.next_time_ms() + 86_400_000
    assert network.run(
        decide(CIVIL_OFFICER, outcome="approve"),  # the requester cannot approve its own request
        decide(TAX_OFFICER, outcome="approve", approved_fields=["tax_paid_fen"]),  # more than was asked
        decide(TAX_OFFICER, outcome="approve", approved_fields=["monthly_wages_fen"], conditions=["仅用于核对"], expires_ms=expires),
        decide(TAX_OFFICER, outcome="refuse", reason="again"),
    ) == [ResultCode.NOT_AUTHORISED, ResultCode.FIELDS_NOT_IN_RESOURCE, OK, ResultCode.REQUEST_NOT_PENDING]
    approved = network.state.get(get_request_key("r1"))
    assert approved["approved_fields"] == ["monthly_wages_fen"] and approved["conditions"] == ["仅用于核对"]
    assert get_approval_fault(network.state, "r1", "civil-affairs", ["monthly_wages_fen"], expires - 1) is None
    assert get_approval_fault(network.state, "r1", "civil-affairs", ["employer"], expires - 1) == "fields beyond the approval: employer"
    assert get_approval_fault(network.state, "r1", "civil-affairs", ["monthly_wages_fen"], expires) == "the approval has expired"
    assert get_approval_fault(network.state, "r1", "medical-security", ["monthly_wages_fen"], now) == "the request was made by another organisation"
    assert network.run_one(catalog(network, TAX_OFFICER, "revoke_request", request_id="r1", reason="用途超出")) is OK
    assert get_approval_fault(network.state, "r1", "civil-affairs", ["monthly_wages_fen"], now) == "the request is revoked"


def test_unconditional_is_approved_at_once_and_not_shared_refuses(network: Network) -> None:
    network.run(register(network, "tax.open", sharing_class="unconditional"), register(network, "tax.secret", sharing_class="not_shared"))
    assert network.run(
        request(network, "r1", resource_id="tax.open"),
        request(network, "r2", resource_id="tax.secret"),
        request(network, "r3", resource_id="tax.missing"),
        request(network, "r4", resource_id="tax.open", fields=("salary",)),
        request(network, "r5", resource_id="tax.open", signer=TAX_OFFICER),  # its own data
        request(network, "r1", resource_id="tax.open"),
    ) == [OK, ResultCode.SHARING_NOT_ALLOWED, ResultCode.RESOURCE_NOT_FOUND, ResultCode.FIELDS_NOT_IN_RESOURCE,
          ResultCode.INVALID_ARGUMENTS, ResultCode.REQUEST_EXISTS]
    assert get_approval_fault(network.state, "r1", "civil-affairs", ["monthly_wages_fen"], network.time_ms) is None
    # Retiring the resource stops the approval from working.
    network.run(catalog(network, TAX_OFFICER, "retire_resource", resource_id="tax.open"))
    assert get_approval_fault(network.state, "r1", "civil-affairs", ["monthly_wages_fen"], network.time_ms) == "the resource is no longer shared"


def test_refusal_needs_a_reason_and_the_requester_may_withdraw(network: Network) -> None:
    network.run(register(network), request(network, "r1"), request(network, "r2"))
    assert network.run(
        catalog(network, TAX_OFFICER, "decide_request", request_id="r1", outcome="refuse"),
        catalog(network, TAX_OFFICER, "decide_request", request_id="r1", outcome="refuse", reason="目的不明确"),
        catalog(network, CIVIL_OFFICER, "revoke_request", request_id="r2", reason="no longer needed"),
        catalog(network, TAX_CLERK, "revoke_request", request_id="r2", reason="x"),
        catalog(network, TAX_OFFICER, "decide_request", request_id="nope", outcome="approve"),
    ) == [ResultCode.INVALID_ARGUMENTS, OK, OK, ResultCode.NOT_AUTHORISED, ResultCode.REQUEST_NOT_FOUND]
    assert network.state.get(get_request_key("r1"))["reason"] == "目的不明确"
    assert network.state.get(get_request_key("r2"))["status"] == "revoked"


def test_catalogue_queries_show_sharing_permissions_pending_and_history(network: Network) -> None:
    from reliefledger.node.catalog_queries import get_resource, list_permissions, list_requests, list_resources

    update = catalog(network, TAX_OFFICER, "update_resource", resource_id="tax.wages", name="工资 v2", fields=FIELDS[:2], legal_basis="b",
                     update_frequency="monthly", sharing_class="conditional", level="city", region="330100")
    assert network.run(register(network), register(network, "tax.open", sharing_class="unconditional"), update) == [OK, OK, OK]
    expires = network.next_time_ms() + 86_400_000
    assert network.run(request(network, "r1"), request(network, "r2", resource_id="tax.open"), request(network, "r3"), request(network, "r4")) == [OK] * 4
    assert network.run(catalog(network, TAX_OFFICER, "decide_request", request_id="r1", outcome="approve", expires_ms=expires),
                       catalog(network, TAX_OFFICER, "revoke_request", request_id="r3", reason="不再需要")) == [OK, OK]
    store = network.state
    assert [resource["id"] for resource in list_resources(store, owner="hrss")] == ["tax.open", "tax.wages"]
    assert list_resources(store, owner="civil-affairs") == []
    wages = get_resource(store, "tax.wages")
    assert [version["version"] for version in wages["versions"]] == [1, 2] and wages["versions"][0]["name"] == "个人工资薪金所得"
    assert [event["action"] for event in wages["history"]] == ["register_resource", "update_resource"] and get_resource(store, "tax.none") is None
    assert [request["id"] for request in list_requests(store, status="pending")] == ["r4"]
    r1 = list_requests(store, requester="civil-affairs", owner="hrss", status="approved")[0]
    assert r1["id"] == "r1" and [event["action"] for event in r1["history"]] == ["request_sharing", "decide_request"] and r1["history"][1]["organisation"] == "hrss"
    assert [permission["id"] for permission in list_permissions(store, network.time_ms)] == ["r1", "r2"]  # r3 revoked, r4 pending
    assert [permission["id"] for permission in list_permissions(store, expires)] == ["r2"]  # r1 has expired by then
