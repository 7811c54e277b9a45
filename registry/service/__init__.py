"""The service layer: the one place where the registry is read or written."""
