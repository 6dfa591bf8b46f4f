"""The settings of one watch service (``phiwatch watch`` options)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WatchOptions:
    queue_url: str
    wait_seconds: int = 20
    max_messages: int = 10
    full_sweep_seconds: float = 12 * 3600  # 0: never
    periodic_check_seconds: float = 300  # 0: never
    periodic_hours: float = 24.0
    sweep_on_start: bool | None = None  # None: when the store has no full collection within full_sweep_seconds
    retry_delay: float = 30.0  # first retry of a failed message; doubles per receive
    max_backoff: float = 60.0
    dedupe_size: int = 10_000
    remediate: bool = True
