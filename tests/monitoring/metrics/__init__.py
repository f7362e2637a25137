"""Tests of monitoring.metrics."""
