"""probe, demo_target, seed_demo and the alerting commands."""
