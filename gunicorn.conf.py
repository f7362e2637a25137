"""gunicorn's settings, read from the working directory by every `gunicorn opsportal.wsgi`
(Procfile, `make run`, bench/ping.py); command-line options override them.

Threaded workers (gthread): a ping waits for its group commit (monitoring.services.ping_batch)
while the worker's other threads take more requests, so one process stores many pings per
write; keep-alive connections are kept without holding a thread.
"""

from django.core.exceptions import ImproperlyConfigured

from monitoring.services.conf import WEB_THREADS

worker_class = "gthread"
try:
    threads = WEB_THREADS.get()  # declared and checked like every setting (opsportal.conf)
except ImproperlyConfigured as error:
    raise SystemExit(f"gunicorn.conf.py: {error}") from None
