"""Management commands of the maintenance app."""
