"""Tokens as each process holds them: the cache of recent Authorization headers never
keeps a holder past the refresh that dropped its token, even when the refresh runs in
another thread (the listener's, on PostgreSQL) in the middle of a request."""

from __future__ import annotations

import pytest

from registry.access import digest
from registry.errors import Unauthorized
from registry.service import live
from registry.store import Store


def test_a_holder_looked_up_before_a_refresh_is_not_cached_after_it(
    seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_id, secret = seeded.create_token("auditor", "metro-home", None, None)
    state = live.Live(seeded)
    header = f"Bearer {secret}"

    def revoked_meanwhile(token: str) -> str:
        # The request has the tokens of before in hand; now the token is revoked and
        # another thread refreshes, before the request caches what it found.
        seeded.revoke_token(token_id)
        state.refresh()
        return digest(token)

    monkeypatch.setattr(live, "digest", revoked_meanwhile)
    assert state.principal(header).id == token_id  # answered from the tokens of before
    monkeypatch.setattr(live, "digest", digest)
    with pytest.raises(Unauthorized):
        state.principal(header)
