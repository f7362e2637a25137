"""Monitoring console views, one module per page family."""
