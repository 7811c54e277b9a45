from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import bearer


def test_owner_of_a_full_cell(client: TestClient[Litestar], tokens: dict[str, str]) -> None:
    r = client.get(
        "/v1/alliances/metro-home/owner?category=outage&region=north&at=2026-11-22",
        headers=bearer(tokens["resolver"]),
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["owner"], body["revision"]) == (
        "owned",
        {"partner": "fastnet", "contract": "fastnet-internet"},
        1,
    )
