"""A client of the registry's HTTP API (`http.py`), for the command line's repository
commands (pull, plan --server, apply --server) and for complaint systems; and
`Resolver` (`resolver.py`), which answers owner queries in the client's own process
from the alliance's snapshot."""

from registry.client.http import Client, ClientError, DocumentResult, Outcome
from registry.client.resolver import Resolver, ResolverError
from registry.wire import AllianceSummary, DocumentList, Problem, StoredView

__all__ = [
    "AllianceSummary",
    "Client",
    "ClientError",
    "DocumentList",
    "DocumentResult",
    "Outcome",
    "Problem",
    "Resolver",
    "ResolverError",
    "StoredView",
]
