"""Dashboard: the portal's home page (the services board, open alerts) and its live refreshes.
Views and urls plus the board they render (board, rows, present, live); nothing imports it.
May import opsportal and every part of monitoring (services, alerts, metrics, agents).
"""
