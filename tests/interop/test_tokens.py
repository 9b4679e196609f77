"""Bearer tokens are judged by the node's own clock: expired after their lifetime, refused when
issued ahead of it, whatever the wall clock of the machine says."""

import nacl.signing
import pytest

from reliefledger.interop.settings import Client, InteropSettings
from reliefledger.interop.signatures import SigningKey
from reliefledger.interop.tokens import TokenError, check_bearer, issue_token

NOW_S = 4_000_000_000  # 2096: far from the machine's clock, on purpose


def test_a_token_lives_by_the_node_clock() -> None:
    client = Client("spmis", "scrypt$00$00", "spmis.example", "http://127.0.0.1:1", ("registry.search",), (), jwks={"keys": []})
    settings = InteropSettings("node.example", SigningKey("k1", nacl.signing.SigningKey.generate().encode()), {"spmis": client}, token_lifetime_s=600)
    token, lifetime = issue_token(settings, "spmis", "-", None, NOW_S, checked=True)
    bearer = f"Bearer {token}"
    assert lifetime == 600 and check_bearer(settings, bearer, "registry.search", NOW_S + 599).client == client
    assert check_bearer(settings, bearer, None, NOW_S - 60).scopes == {"registry.search"}  # a clock stepped back a little
    for now_s, reason in ((NOW_S + 600, "expired"), (NOW_S - 61, "future")):
        with pytest.raises(TokenError, match=reason):
            check_bearer(settings, bearer, None, now_s)
    with pytest.raises(TokenError, match="scope") as refused:
        check_bearer(settings, bearer, "registry.subscribe", NOW_S)
    assert refused.value.status == 403
