"""What the auditor's page shows, below both doors that show it: `pages` builds the
view model (summary, findings by rule, the coverage `matrix`, the timeline, the change
log) from a Bundle, its Report and its OwnerIndex; `templating` holds the one Jinja
environment. The web door serves it at /ui/, the offline report (`registry audit
--format html`) renders the same templates to one file.

Kept free of server imports so the offline report does not load the server's libraries.
"""
