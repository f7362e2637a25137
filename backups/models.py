"""Models of the backups app (added by the issues that build it)."""
