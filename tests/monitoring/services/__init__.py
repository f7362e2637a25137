"""Tests of monitoring.services."""
