"""Keep one stream worker running: restart it when it stops without being asked to.

The worker stops itself when the registry gains a force whose ingest topic now exists (see
``streams/follow.py``), so the exchange follows new forces without a code change; it may also
crash. Either way the supervisor starts it again, with a growing pause if it keeps failing.
SIGTERM or Ctrl-C to the supervisor stops the worker cleanly and ends the supervisor.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from common import processes

log = logging.getLogger("cjsx.supervisor")

_MAX_PAUSE = 30.0
_HEALTHY_AFTER = 60.0


def supervise(command: Sequence[str], log_file: Path | None = None) -> int:
    """Run ``command`` until asked to stop; returns the last exit code."""
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pause = 1.0
    code = 0
    while not stopping:
        started = time.monotonic()
        if log_file is None:
            child = subprocess.Popen(
                list(command), preexec_fn=processes.die_with_parent, start_new_session=True
            )
        else:
            child = processes.spawn(command, log=log_file)
        code = child.wait()
        if stopping:
            break
        ran = time.monotonic() - started
        pause = 1.0 if ran > _HEALTHY_AFTER else min(_MAX_PAUSE, pause * 2)
        log.warning("worker stopped; restarting", extra={"exit_code": code, "pause_s": pause})
        time.sleep(pause)
    return code
