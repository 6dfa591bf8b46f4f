"""What every command's implementation shares: opening the store, the AWS context, alert
delivery after a scan, the retries line."""

from __future__ import annotations

import logging
from typing import Any

from rich.console import Console
from rich.markup import escape

from phiwatch.aws import AwsContext
from phiwatch.aws.limits import DEFAULT_TOTAL
from phiwatch.cli.common import err_console
from phiwatch.notify.dispatcher import DispatchResult, deliver
from phiwatch.policy import Policy
from phiwatch.store import Store

__all__ = ["aws_context", "deliver_alerts", "open_store", "print_retries", "print_slow_tasks", "verbose"]


def open_store(db: str | None, *, create: bool = False) -> Store:
    """The store named by --db / PHIWATCH_DB. Only commands that write pass ``create=True``: a read
    command on a store that does not exist says so and exits 3 instead of showing an empty one."""
    return Store(db, create=create)


def deliver_alerts(
    store: Store,
    policy: Policy,
    rules: dict[str, Any] | None,
    *,
    aws: AwsContext | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
) -> DispatchResult | None:
    """After a scan: send due alerts and reminders; one line on stderr. Never fails the scan."""
    if not policy.notifications:
        return None
    try:
        result = deliver(store, policy, rules, aws=aws, endpoint_url=endpoint_url, profile=profile)
    except Exception as exc:  # noqa: BLE001 - alerts stay in the outbox for the next run
        err_console.print(
            f"[yellow]alerts not sent this time ({escape(type(exc).__name__)}); they stay queued: see `phiwatch notifications`[/yellow]"
        )
        return None
    if result is not None and result.routes:
        style = "yellow" if result.failed else "green"
        err_console.print(f"[{style}]{escape(result.summary())}[/{style}]", highlight=False, soft_wrap=True)
    return result


def aws_context(
    endpoint_url: str | None,
    profile: str | None,
    region: list[str] | None,
    all_regions: bool = False,
    check: bool = True,
    max_attempts: int = 10,
    retry_budget: int = 1000,
    workers: int = DEFAULT_TOTAL,
) -> AwsContext:
    """The AWS context of the common options. ``check``: its credentials are checked now (one STS
    call) so a bad profile or endpoint is one clear error; ``all_regions``: every Region enabled
    for the account."""
    retries = {"max_attempts": max_attempts, "retry_budget": retry_budget, "workers": workers}
    aws = AwsContext(endpoint_url=endpoint_url, profile=profile, regions=region, **retries)
    if check or all_regions:
        aws.account_id()
    if all_regions:
        aws = AwsContext(endpoint_url=endpoint_url, profile=profile, regions=aws.all_regions(), **retries)
    return aws


def print_retries(aws: AwsContext | None, to: Console) -> None:
    """One line on retries and calls given up (when there were any), naming the APIs that gave up."""
    if aws is None:
        return
    summary = aws.retry_stats.summary()
    if not summary["retries"] and not summary["give_ups"]:
        return
    gave_up = [f"{a['service']}:{a['api']} ({a['gave_up_because']})" for a in summary["apis"] if a["give_ups"]]
    to.print(
        f"[yellow]retries: {summary['retries']} ({summary['throttles']} throttled answers), "
        f"budget left {summary['budget_left']} of {summary['budget']}"
        + (f"; gave up on {', '.join(gave_up[:5])}" + (" ..." if len(gave_up) > 5 else "") if gave_up else "")
        + "[/yellow]",
        soft_wrap=True,
    )


def print_slow_tasks(tasks: list[Any], to: Console, shown: int = 5) -> None:
    """The slowest collection tasks (``--verbose``): where a collection's wall time went."""
    if not tasks:
        return
    parts = [f"{t.service} {t.region} {t.seconds:.1f} s, {t.requests} requests, {t.items} items" for t in tasks[:shown]]
    to.print(f"[dim]slowest tasks: {'; '.join(parts)}[/dim]", highlight=False, soft_wrap=True)


def verbose() -> bool:
    """Whether the command runs with ``phiwatch --verbose``."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)
