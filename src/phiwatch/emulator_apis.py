"""Read APIs the embedded emulator adds to moto, answered from moto's own state.

* ``wafv2 ListResourcesForWebACL``: the resources moto associated with the web ACL
  (``AssociateWebACL``), filtered by ``ResourceType`` as AWS does.
* ``ssm DescribeInstanceInformation`` and ``ListResourceComplianceSummaries``: empty lists, which
  is the truth of the emulated estate: no SSM Agent runs on moto's instances, so there is no
  managed node and no compliance summary.

* ``ec2 GetEbsDefaultKmsKeyId``: the key moto keeps for encryption by default (AWS's managed
  ``alias/aws/ebs`` key until ``ModifyEbsDefaultKmsKeyId`` names another, as on AWS).

Any other action moto lacks answers HTTP 501 ``NotImplemented`` instead of moto's HTTP 500, which
clients retry as transient (ten times, with back-off): one such call would stall a collection for
half a minute.
"""

from __future__ import annotations

import json
from typing import Any

# ResourceType -> a part of the ARNs of that type
_WAF_RESOURCE_TYPES = {
    "APPLICATION_LOAD_BALANCER": ":loadbalancer/app/",
    "API_GATEWAY": ":apigateway:",
    "APPSYNC": ":appsync:",
    "COGNITO_USER_POOL": ":cognito-idp:",
    "APP_RUNNER_SERVICE": ":apprunner:",
    "VERIFIED_ACCESS_INSTANCE": ":verified-access-instance/",
}


def _list_resources_for_web_acl(self: Any) -> tuple[int, dict[str, str], str]:
    from moto.wafv2.exceptions import WAFNonexistentItemException

    body = json.loads(self.body or "{}")
    web_acl = self.wafv2_backend.wacls.get(body.get("WebACLArn"))
    if web_acl is None:
        raise WAFNonexistentItemException()
    marker = _WAF_RESOURCE_TYPES.get(body.get("ResourceType") or "APPLICATION_LOAD_BALANCER", "")
    arns = [arn for arn in web_acl.associated_resources if marker in arn]
    return 200, {"Content-Type": "application/json"}, json.dumps({"ResourceArns": arns})


def _get_ebs_default_kms_key_id(self: Any) -> tuple[int, dict[str, str], str]:
    backend = self.ec2_backend
    key_arn = backend.default_kms_key_id or backend._create_default_encryption_key()
    body = (
        '<GetEbsDefaultKmsKeyIdResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>{self.request_id if hasattr(self, 'request_id') else '0'}</requestId>"
        f"<kmsKeyId>{key_arn}</kmsKeyId></GetEbsDefaultKmsKeyIdResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, body


def _empty(key: str) -> Any:
    def action(self: Any) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps({key: []})

    return action


def _answer_unimplemented_with_501() -> None:
    """Make moto answer an action it does not implement with HTTP 501 ``NotImplemented``."""
    from moto.core.responses import BaseResponse

    if getattr(BaseResponse.call_action, "_phiwatch_501", False):
        return
    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        try:
            return original(self)
        except NotImplementedError as exc:
            body = json.dumps({"__type": "NotImplemented", "message": str(exc)})
            return 501, {"x-amzn-ErrorType": "NotImplemented", "Content-Type": "application/json"}, body

    call_action._phiwatch_501 = True  # type: ignore[attr-defined]
    BaseResponse.call_action = call_action  # type: ignore[method-assign]


def install() -> None:
    """Add the actions to moto's response classes (idempotent; moto dispatches by method name)."""
    from moto.ec2.responses import EC2Response
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.wafv2.responses import WAFV2Response

    _answer_unimplemented_with_501()

    additions = (
        (WAFV2Response, "list_resources_for_web_acl", _list_resources_for_web_acl),
        (EC2Response, "get_ebs_default_kms_key_id", _get_ebs_default_kms_key_id),
        (SimpleSystemManagerResponse, "describe_instance_information", _empty("InstanceInformationList")),
        (SimpleSystemManagerResponse, "list_resource_compliance_summaries", _empty("ResourceComplianceSummaryItems")),
    )
    for cls, name, fn in additions:
        if not hasattr(cls, name):
            setattr(cls, name, fn)
