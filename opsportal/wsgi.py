"""WSGI entry point for gunicorn: Django behind the registered fast paths (opsportal.fastpath)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from opsportal.fastpath import FastPathApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsportal.settings")
application = FastPathApp(get_wsgi_application())
