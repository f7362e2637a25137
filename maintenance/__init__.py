"""Maintenance: checklists, runbooks, the security registry and database maintenance."""
