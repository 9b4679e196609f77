"""Reading the directory chain: what each department shares, who may read what, pending requests,
and the history of each. Catalogue metadata names no person, so any staff member may read it."""

from typing import Any, Protocol

from reliefledger.ledger.contracts.catalog import get_approval_fault, get_request_scope, get_resource_key


class CatalogueStore(Protocol):
    """The store's reads the queries need."""

    def get(self, key: str) -> Any | None:
        """A committed value."""
        ...

    def iterate_state_prefix(self, prefix: str) -> Any:
        """(key, value) pairs under a prefix, in key order."""
        ...


def list_resources(store: CatalogueStore, *, owner: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Catalogued resources, optionally one department's or in one status, by id."""
    return [resource for _, resource in store.iterate_state_prefix("catalog/resource/")
            if (owner is None or resource["owner"] == owner) and (status is None or resource["status"] == status)]


def get_resource(store: CatalogueStore, resource_id: str) -> dict[str, Any] | None:
    """A resource with every published version of its description, oldest first (None when unknown)."""
    resource = store.get(get_resource_key(resource_id))
    if resource is None:
        return None
    versions = [version for _, version in store.iterate_state_prefix(f"catalog/resource-version/{resource_id}/")]
    return {**resource, "versions": versions}


def list_requests(store: CatalogueStore, *, requester: str | None = None, owner: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Sharing requests with the owner of the resource they ask for, filtered as asked."""
    owners = {resource["id"]: resource["owner"] for resource in list_resources(store)}
    requests = [{**request, "owner": owners.get(request["resource"])} for _, request in store.iterate_state_prefix("catalog/request/")]
    return [request for request in requests
            if (requester is None or request["requester"] == requester) and (owner is None or request["owner"] == owner)
            and (status is None or request["status"] == status)]


def list_permissions(store: CatalogueStore, now_ms: int, *, requester: str | None = None) -> list[dict[str, Any]]:
    """Who may read what right now, and for what (``scope``: a means test or active discovery):
    approved, unexpired, unrevoked requests on active resources."""
    permissions = []
    for request in list_requests(store, requester=requester, status="approved"):
        if get_approval_fault(store, request["id"], request["requester"], request["approved_fields"], now_ms) is None:
            permissions.append({**{name: request[name] for name in ("id", "requester", "owner", "resource", "approved_fields", "conditions", "expires_ms", "purpose",
                                                                    "legal_basis")}, "scope": get_request_scope(request)})
    return permissions
