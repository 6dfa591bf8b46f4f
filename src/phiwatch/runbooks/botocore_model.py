"""AWS API names from botocore's model: SSM Service names to boto3's (:func:`boto3_service`),
Api names to PascalCase operations (:func:`operation_name`), an operation's input shape
(:func:`service_model`), and which APIs count as writes (:func:`is_write_api`)."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import botocore.session
from botocore import xform_name

from phiwatch.aws.session import botocore_session

READ_PREFIXES = ("Get", "Describe", "List", "Head")

# SSM service names that are not boto3's.
_SERVICE_ALIASES = {"cloudwatchlogs": "logs", "elasticloadbalancingv2": "elbv2", "elasticloadbalancing": "elb", "elasticfilesystem": "efs"}


def is_write_api(api: str) -> bool:
    """Anything that is not Get*/Describe*/List*/Head* counts as a write (never sent in a dry run)."""
    return not api.startswith(READ_PREFIXES)


@lru_cache(maxsize=1)
def _botocore() -> botocore.session.Session:
    # the models the AWS clients already parsed are not parsed again
    return botocore_session()


@cache
def _services() -> frozenset[str]:
    return frozenset(_botocore().get_available_services())


@cache
def service_model(service: str) -> Any:
    return _botocore().get_service_model(service)


def boto3_service(name: str) -> str | None:
    """SSM's Service name -> boto3's (None when botocore has no such service)."""
    key = str(name).strip().lower()
    key = _SERVICE_ALIASES.get(key, key)
    return key if key in _services() else None


def operation_name(service: str, api: str) -> str | None:
    """The PascalCase operation name for ``api`` (PascalCase or snake_case), None if absent."""
    names = service_model(service).operation_names
    if api in names:
        return api
    by_lower = {n.lower(): n for n in names}
    by_snake = {xform_name(n): n for n in names}
    return by_lower.get(str(api).lower()) or by_snake.get(str(api))
