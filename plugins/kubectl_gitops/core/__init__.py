"""Config model, errors, progress reporting, pinned versions: no third-party clients here."""
