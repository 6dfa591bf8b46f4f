"""Which process holds a claim (an outbox row being delivered, a remediation being executed), and
whether that process is gone.

A claim is recorded as a token ``host:pid:start`` (``start``: the process's start time in clock
ticks since boot, from ``/proc``, so a recycled pid is not mistaken for the holder). A process on
the same host can tell that the holder died (kill -9, a crash, a power cut of a container that came
back with the same hostname and store) and take the work over at once instead of waiting for a
lease to run out. A holder on another host is never judged: its lease decides.
"""

from __future__ import annotations

import os
import socket

_TOKEN: str | None = None


def _start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks since boot) and whether it is a zombie, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its closing one
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # dead or zombie: not running
        return None
    return fields[19]


def process_token() -> str:
    """This process's claim token."""
    global _TOKEN
    pid = os.getpid()
    if _TOKEN is None or _TOKEN.split(":")[-2] != str(pid):  # recomputed after a fork
        _TOKEN = f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or ''}"
    return _TOKEN


def holder_gone(token: str | None) -> bool:
    """True when the process that wrote ``token`` ran on this host and no longer runs."""
    if not token:
        return False
    parts = token.rsplit(":", 2)
    if len(parts) != 3:
        return False
    host, pid_text, start = parts
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return token != process_token()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process is running with that pid
    except OSError:
        return False
    now_start = _start_ticks(pid)
    if os.path.isdir("/proc/self"):
        if now_start is None:
            return True  # a zombie, or it exited just now
        return bool(start) and now_start != start  # the pid was recycled
    return False
