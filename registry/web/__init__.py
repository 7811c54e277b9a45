"""The auditor's page: `pages` builds what it shows from a Bundle, its Report and
its OwnerIndex; `controller` serves it at /ui/ (litestar templates); the offline
report (`registry audit --format html`) renders the same templates to one file.

Kept free of imports so the offline report does not load the server's libraries.
"""
