"""gunicorn's settings, read from the working directory by every `gunicorn opsportal.wsgi`
(Procfile, `make run`, bench/ping.py); command-line options override them.

Threaded workers (gthread): a ping waits for its group commit (monitoring.services.ping_batch)
while the worker's other threads take more requests, so one process stores many pings per
write; keep-alive connections are kept without holding a thread.
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "16"))
