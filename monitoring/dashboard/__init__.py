"""Dashboard: the portal's home page (service tiles, open alerts), live-refreshed fragments.
Holds only views and urls; it reads every part and nothing imports it.
May import opsportal and every part of monitoring (services, alerts, metrics, agents).
"""
