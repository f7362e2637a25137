"""Template tags of the core app: filters for the display formatters (opsportal.formatting)."""
