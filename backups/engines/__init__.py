"""Backup engines, one per source kind: PostgreSQL, SQLite and media directories."""
