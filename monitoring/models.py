"""Models of the monitoring app (added by the issues that build it)."""
