"""Tests of monitoring.alerts."""
