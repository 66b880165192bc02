"""Child processes that never outlive their owner: brokers, workers, demo partners."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGKILL us when the parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def become_subreaper() -> None:
    """Adopt our orphaned descendants (Linux): a grandchild whose parent dies is reparented
    to us rather than to init, so ``descendants`` still finds it and nothing escapes."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """One live process as ``/proc`` shows it."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    name: str

    @property
    def command(self) -> str:
        """Its command line (its name if that is gone or empty)."""
        try:
            with open(f"/proc/{self.pid}/cmdline", "rb") as file:
                raw = file.read()
        except OSError:
            return self.name
        return raw.replace(b"\0", b" ").decode(errors="replace").strip() or self.name


def _read(pid: str) -> ProcessInfo | None:
    try:
        with open(f"/proc/{pid}/stat") as file:
            stat = file.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    end = stat.rindex(")")
    fields = stat[end + 2 :].split(maxsplit=4)
    return ProcessInfo(
        pid=int(pid),
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        sid=int(fields[3]),
        state=fields[0],
        name=stat[stat.index("(") + 1 : end],
    )


def snapshot() -> list[ProcessInfo]:
    """Every process visible in ``/proc`` right now (cheap: one small read each)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and (info := _read(name)) is not None:
            found.append(info)
    return found


def descendants(pid: int, sessions: Iterable[int] = ()) -> list[ProcessInfo]:
    """Live (not zombie) descendants of ``pid``, plus any process in one of ``sessions``
    (the sessions of children we started, which ``spawn`` makes their own) whose leader is
    still our child. Never a process of someone else's."""
    table = snapshot()
    children: dict[int, list[ProcessInfo]] = {}
    for info in table:
        children.setdefault(info.ppid, []).append(info)
    found: dict[int, ProcessInfo] = {}
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child.pid not in found:
                found[child.pid] = child
                stack.append(child.pid)
    # A session counts only while its leader is still our child (alive or unreaped): once
    # reaped, its pid may be reused by someone else's session leader.
    wanted = set(sessions)
    leaders = {i.pid for i in table if i.pid in wanted and i.ppid == pid}
    for info in table:
        if info.sid in leaders and info.pid != pid:
            found.setdefault(info.pid, info)
    return sorted((i for i in found.values() if i.state != "Z"), key=lambda i: i.pid)


def kill_group(pgid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    """Signal a whole process group; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


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


def _exited(pid: int) -> bool:
    """Has child ``pid`` exited? It is left unreaped (a zombie), so its pid (and process
    group id) cannot be reused by an unrelated process while we still signal the group."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # already reaped
        return True


def stop(process: subprocess.Popen[Any], timeout: float = 30.0) -> int | None:
    """SIGTERM, wait for a clean exit, then SIGKILL; then SIGKILL whatever is left of its
    process group (``spawn`` makes every child a group leader). Returns the exit code."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        if not wait_for(lambda: _exited(process.pid), timeout, interval=0.05):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            wait_for(lambda: _exited(process.pid), 10, interval=0.05)
        # Still unreaped, the leader's pid names only the group it created: safe to signal.
        kill_group(process.pid)
        process.wait(timeout=10)
    return process.returncode


def run(
    command: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Like ``subprocess.run(capture_output=True)``, but the command runs in its own process
    group, and on a timeout (or any other way out) the whole group is killed, not just the
    direct child: a tool that forks (Maven, a JVM, the demo) leaves nothing behind."""
    with subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})} if env is not None else None,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=die_with_parent,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except BaseException:
            kill_group(process.pid)
            process.communicate()
            raise
    return subprocess.CompletedProcess(list(command), process.returncode, out, err)


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


def stop_requested() -> threading.Event:
    """An event that SIGINT or SIGTERM sets, for a command that stops at its next check (and
    so closes its clients and stores) rather than dying wherever the signal lands."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stop
