"""Backups: sources, destinations, policies, runs, verification, retention and restore drills."""
