"""The floor `http.py` measures the registry against: a bare litestar endpoint that
returns a constant msgspec Struct, shaped like an owner answer, served by the same
stack (uvicorn, one worker, uvloop and httptools) as `registry serve`.

Not part of the product; `http.py` serves it as `baseline_app:app`.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar, get


class Party(msgspec.Struct):
    partner: str
    contract: str | None = None


class Constant(msgspec.Struct):
    alliance: str
    revision: int
    status: str
    owner: Party
    face: Party


CONSTANT = Constant(
    "synth-medium", 1, "owned", Party("partner-001", "partner-001-c1"), Party("brand")
)


@get("/constant")
async def constant() -> Constant:
    return CONSTANT


app = Litestar(route_handlers=[constant], debug=False)
