"""How the ``phiwatch`` process itself runs: the garbage collector's pace, and a quick exit.

Both matter only in a process of its own (the console script and ``python -m phiwatch.cli``),
never when :func:`phiwatch.cli.main` is called in another program's process (tests), so they are
applied by :func:`phiwatch.cli.entry` alone.

* **The collector's thresholds.** A scan builds a large heap that lives until the end: botocore's
  service models and clients, the rules, the items. With CPython's default thresholds (700, 10,
  10) each full collection walks all of it again as it grows; at 250 resources that was 7 full
  collections and 0.8 of the scan's 4 CPU-seconds. :data:`THRESHOLDS` collects the young
  generation every 10,000 allocations instead of 700, so objects that live on reach the old
  generation later and far fewer full collections run; a full collection still runs after about
  a million net allocations (and only when the old generation has grown by a quarter, CPython's
  own rule), so reference cycles are still freed in the long-running ``watch``.
* **The exit.** Once the command has returned, its output is flushed and the ``atexit``
  handlers have run (logging, process pools), a normal exit would still free every object one by
  one: 0.8 s after a scan of 250 resources. :func:`exit_now` ends the process there, unless a
  thread other than the main one is still running, which a normal exit waits for.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from typing import NoReturn

#: the status of a run whose output could not be flushed at exit, as CPython gives it
FLUSH_FAILED = 120

#: (young, middle, old) thresholds for :func:`gc.set_threshold` (CPython's default: 700, 10, 10)
THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Collect garbage at the pace of a process that builds a large, long-lived heap."""
    gc.set_threshold(*THRESHOLDS)


def threads_still_running() -> list[threading.Thread]:
    """The threads, other than the main one and daemons, that have not finished."""
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]


def exit_code(exc: SystemExit) -> int:
    """The status a normal exit gives for ``exc``, writing its message to stderr as Python does."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def exit_now(code: int) -> NoReturn:
    """End the process with ``code``: the ``atexit`` handlers, then flushed output, then
    :func:`os._exit`, without freeing the heap object by object. A normal exit when a thread
    is still running."""
    if threads_still_running():
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream
            code = code or FLUSH_FAILED
    os._exit(code)
