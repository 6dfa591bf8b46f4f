"""Inventory commands: collect, inventory, history, show."""

from __future__ import annotations

from typing import Annotated

import typer

from phiwatch.cli import run
from phiwatch.cli.common import AllRegionsOpt, DbOpt, EndpointOpt, MaxAttemptsOpt, ProfileOpt, RegionOpt, RetryBudgetOpt, WorkersOpt

commands = typer.Typer()


@commands.command()
def collect(
    endpoint_url: EndpointOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    all_regions: AllRegionsOpt = False,
    db: DbOpt = None,
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Only these services (repeatable), e.g. s3, iam, ec2.")
    ] = None,
    workers: WorkersOpt = 32,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    max_attempts: MaxAttemptsOpt = 10,
    retry_budget: RetryBudgetOpt = 1000,
) -> None:
    """Inventory resources into the store (a new history version only where something changed)."""
    run.inventory.collect(
        endpoint_url=endpoint_url,
        profile=profile,
        region=region,
        all_regions=all_regions,
        db=db,
        service=service,
        workers=workers,
        json_out=json_out,
        max_attempts=max_attempts,
        retry_budget=retry_budget,
    )


@commands.command()
def inventory(
    resource_type: Annotated[str | None, typer.Option("--type", "-t", help="AWS Config type, e.g. AWS::EC2::Instance.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable; KEY=* for any value).")] = None,
    region: Annotated[str | None, typer.Option("--region", "-r", help="Only this region.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted resources.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """List resources in the store, e.g. `--type AWS::EC2::Instance --tag InstanceOwnerEmail=owner@example.org`."""
    run.inventory.inventory(resource_type=resource_type, tag=tag, region=region, deleted=deleted, json_out=json_out, db=db)


@commands.command()
def history(
    resource: Annotated[str, typer.Argument(help="ARN, resource id or name.")],
    resource_type: Annotated[str | None, typer.Option("--type", "-t", help="Disambiguate by type.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Show a resource's configuration timeline with what changed in each version."""
    run.inventory.history(resource=resource, resource_type=resource_type, json_out=json_out, db=db)


@commands.command()
def show(
    resource: Annotated[str, typer.Argument(help="ARN, resource id or name.")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Point in time (ISO 8601, UTC unless a zone is given; a date means its end, 23:59:59 UTC): print the item as it was then.",
        ),
    ] = None,
    resource_type: Annotated[str | None, typer.Option("--type", "-t", help="Disambiguate by type.")] = None,
    db: DbOpt = None,
) -> None:
    """Print a resource's configuration item (AWS Config shape) as evidence JSON."""
    run.inventory.show(resource=resource, at=at, resource_type=resource_type, db=db)
