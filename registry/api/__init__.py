"""The HTTP API: a litestar app over the store and the core."""

from registry.api.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
