"""The web door: the auditor's page at /ui/ (sign-in, cookie, routes), drawn from
`registry.views` with the registry read through `registry.service`."""

from registry.web.controller import WebController, static_files, template_config

__all__ = ["WebController", "static_files", "template_config"]
