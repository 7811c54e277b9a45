"""The HTTP API door: litestar controllers over the service layer, problem details
for every error. `registry.server` mounts it beside the web door."""

from registry.api.app import HANDLERS, openapi_config, route_handlers

__all__ = ["HANDLERS", "openapi_config", "route_handlers"]
