"""URLs of the maintenance app."""

from __future__ import annotations

from .urls_security import urlpatterns as security_urlpatterns

app_name = "maintenance"
urlpatterns: list = []
urlpatterns += security_urlpatterns
