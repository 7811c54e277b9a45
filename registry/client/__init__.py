"""A client of the registry's HTTP API (`http.py`), for the command line's repository
commands (pull, plan --server, apply --server) and for complaint systems."""

from registry.client.http import (
    AllianceSummary,
    Client,
    ClientError,
    DocumentList,
    DocumentResult,
    Outcome,
    Problem,
    StoredView,
)

__all__ = [
    "AllianceSummary",
    "Client",
    "ClientError",
    "DocumentList",
    "DocumentResult",
    "Outcome",
    "Problem",
    "StoredView",
]
