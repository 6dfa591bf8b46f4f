"""The ``phiwatch`` process: its output and exit status survive the quick exit, ``atexit``
handlers still run, and a thread still running is waited for (phiwatch.cli.process)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from phiwatch.cli import process

_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "phiwatch.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PHIWATCH, *args], capture_output=True, text=True, timeout=120)


def test_a_large_output_to_a_pipe_arrives_whole_with_the_exit_status():
    done = _run("rules", "list", "--json")
    assert done.returncode == 0, done.stderr
    rules = json.loads(done.stdout)  # the whole document, not a prefix cut by the exit
    assert len(rules) > 100 and len(done.stdout) > 50_000


def test_usage_errors_keep_their_status_and_message():
    done = _run("scan", "--no-such-option")
    assert done.returncode == 2
    assert "No such option" in done.stderr
    assert _run("--version").stdout.startswith("phiwatch ")


def test_python_m_runs_the_same_entry():
    done = subprocess.run([sys.executable, "-m", "phiwatch.cli", "scan", "--no-such-option"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "No such option" in done.stderr


_EXIT_NOW = """
import atexit, sys, threading, time
from phiwatch.cli.process import exit_now
atexit.register(lambda: print("atexit handler ran", file=sys.stderr))
if sys.argv[1] == "thread":
    def late():
        time.sleep(0.3)
        print("thread finished", file=sys.stderr)
    threading.Thread(target=late).start()
sys.stdout.write("x" * 200_000)  # more than any pipe buffer: flushed at the exit, not lost
exit_now(5)
"""


def test_exit_now_runs_atexit_handlers_flushes_and_keeps_the_status():
    done = subprocess.run([sys.executable, "-c", _EXIT_NOW, "alone"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 5
    assert done.stdout == "x" * 200_000
    assert done.stderr.strip() == "atexit handler ran"


def test_exit_now_waits_for_a_thread_still_running():
    done = subprocess.run([sys.executable, "-c", _EXIT_NOW, "thread"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 5
    assert done.stderr.splitlines() == ["thread finished", "atexit handler ran"]  # a normal exit: the thread first
    assert len(done.stdout) == 200_000


def test_threads_still_running_ignores_daemons_and_finished_threads():
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    daemon = threading.Thread(target=release.wait, daemon=True)
    worker.start()
    daemon.start()
    try:
        assert worker in process.threads_still_running()
        assert daemon not in process.threads_still_running()
    finally:
        release.set()
        worker.join()
        daemon.join()
    assert worker not in process.threads_still_running()


def test_exit_code_is_the_one_a_normal_exit_gives(capsys):
    assert process.exit_code(SystemExit()) == 0
    assert process.exit_code(SystemExit(3)) == 3
    assert process.exit_code(SystemExit("stopped: bad input")) == 1
    assert capsys.readouterr().err == "stopped: bad input\n"
