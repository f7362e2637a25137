"""Services: services, tags, probes (HTTP, TCP, PostgreSQL), dispatch, state and flips, history and rollups.
Holds the services pages, forms, JSON API, import/export and the probe sweep tasks.
May import opsportal only; never alerts, metrics, agents or the dashboard.
"""
