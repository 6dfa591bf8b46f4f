"""CloudFormation: stacks (AWS::CloudFormation::Stack), regional.

Item layout:

* ``resourceId`` and ``arn``: the ``StackId`` (an ARN, AWS Config's id); ``resourceName``: the
  ``StackName``.
* ``configuration``: DescribeStacks' element in boto3 shape. Keys rules read:
  ``NotificationARNs`` (SNS topics the stack's events go to), ``DriftInformation``
  (``StackDriftStatus``: ``DRIFTED``, ``IN_SYNC``, ``UNKNOWN`` or ``NOT_CHECKED``, and
  ``LastCheckTimestamp``: as of the last drift detection someone ran; phiwatch only reads),
  ``StackStatus``, ``ParentId`` / ``RootId`` for nested stacks. ``Parameters[].ParameterValue``
  and ``Outputs[].OutputValue`` are replaced by ``"REDACTED"`` (keys kept): they may hold
  secrets or identifiers. ``Tags`` are recorded apart.
* ``tags``: the stack's ``Tags``.

DescribeStacks lists every stack that is not deleted with its whole description: one listing,
no detail calls. No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, ResourceSpec, Service, on

STACK = "AWS::CloudFormation::Stack"

REDACTED = "REDACTED"


def _redacted(entries: Any, value_key: str) -> Any:
    if not isinstance(entries, list):
        return entries
    return [{**e, value_key: REDACTED} if isinstance(e, dict) and value_key in e else e for e in entries]


def redact_stack(configuration: dict[str, Any]) -> dict[str, Any]:
    """The stack without parameter and output values."""
    out = dict(configuration)
    if "Parameters" in out:
        out["Parameters"] = _redacted(out["Parameters"], "ParameterValue")
    if "Outputs" in out:
        out["Outputs"] = _redacted(out["Outputs"], "OutputValue")
    return out


SERVICE = Service(
    "cloudformation",
    resources=(
        ResourceSpec(
            STACK,
            client="cloudformation",
            listing=Call("DescribeStacks", "cloudformation:DescribeStacks", result="Stacks"),
            id="StackId",
            name="StackName",
            arn="StackId",
            tags="Tags",
            drop=("Tags",),
            shape=redact_stack,
            events=(
                on(
                    "cloudformation.amazonaws.com",
                    (
                        "CreateStack UpdateStack DeleteStack ExecuteChangeSet ContinueUpdateRollback "
                        "CancelUpdateStack UpdateTerminationProtection DetectStackDrift RollbackStack"
                    ),
                    P("requestParameters.stackName"),
                    P("responseElements.stackId"),
                ),
            ),
        ),
    ),
)
