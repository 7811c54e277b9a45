"""The HTTP API door: litestar controllers over the service layer, problem details
for every error. `registry.server` mounts it beside the web door."""

from registry.api.app import HANDLERS, openapi_config, route_handlers
from registry.api.edge import observed

__all__ = ["HANDLERS", "observed", "openapi_config", "route_handlers"]
