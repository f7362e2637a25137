"""Alerts: alerts and their lifecycle, holds, silences, maintenance windows, channels, notifications, escalation.
Holds the alerts pages, forms and JSON API, and public.py, the only entry point other apps use.
May import opsportal and monitoring.services; never metrics, agents or the dashboard.
"""
