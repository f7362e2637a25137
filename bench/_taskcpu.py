"""The portal's Celery app with a CPU clock around every task, for ``bench/sustained.py --task-cpu``.

The worker is started as ``celery -A _taskcpu worker ...`` (same app, same tasks); each pool
process appends ``end-time task-name cpu-seconds wall-seconds`` per task to
``$TASK_CPU_DIR/tasks-<pid>.log``. CPU is the pool process's own (time.process_time), not its
PostgreSQL backend's.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import signals

from opsportal.celery import app

__all__ = ["app"]
_started: dict[str, tuple[float, float]] = {}


@signals.task_prerun.connect
def _before(task_id: str = "", **_: Any) -> None:
    _started[task_id] = (time.process_time(), time.perf_counter())


@signals.task_postrun.connect
def _after(task_id: str = "", task: Any = None, **_: Any) -> None:
    cpu0, wall0 = _started.pop(task_id, (time.process_time(), time.perf_counter()))
    line = f"{time.time():.3f} {getattr(task, 'name', '?')} {time.process_time() - cpu0:.4f} {time.perf_counter() - wall0:.4f}\n"
    with open(os.path.join(os.environ["TASK_CPU_DIR"], f"tasks-{os.getpid()}.log"), "a") as out:
        out.write(line)
