"""Child processes that never outlive their owner: brokers, workers, demo partners."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGKILL us when the parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(
    command: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    tied: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``command`` with output to ``log``; ``tied`` children die with this process."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=die_with_parent if tied else None,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int | None:
    """SIGTERM, wait for a clean exit, then SIGKILL. Returns the exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def poll_until(
    poll_once: Callable[[], int],
    *,
    until: Callable[[], bool] = lambda: False,
    idle_timeout: float | None = None,
) -> None:
    """Call ``poll_once`` (which returns how many records it handled) until ``until()`` is
    true, or nothing has arrived for ``idle_timeout`` seconds."""
    last = time.monotonic()
    while not until():
        if poll_once():
            last = time.monotonic()
        elif idle_timeout is not None and time.monotonic() - last > idle_timeout:
            return
