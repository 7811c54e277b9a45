"""The web door: the auditor's page at /ui/ (sign-in, cookie, routes), drawn from
`registry.views` with the registry read through `registry.service`."""
