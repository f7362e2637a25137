"""Models of the maintenance app (added by the issues that build it)."""
