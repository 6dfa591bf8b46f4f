"""Read APIs the embedded emulator adds to moto, answered from moto's own state.

* ``wafv2 ListResourcesForWebACL``: the resources moto associated with the web ACL
  (``AssociateWebACL``), filtered by ``ResourceType`` as AWS does.
* ``ssm DescribeInstanceInformation`` and ``ListResourceComplianceSummaries``: empty lists, which
  is the truth of the emulated estate: no SSM Agent runs on moto's instances, so there is no
  managed node and no compliance summary.
* ``ec2 GetEbsDefaultKmsKeyId``: the key moto keeps for encryption by default (AWS's managed
  ``alias/aws/ebs`` key until ``ModifyEbsDefaultKmsKeyId`` names another, as on AWS).
* ``guardduty ListFindings`` and ``GetFindings``: moto keeps no findings, so a detector's listing is
  empty and GetFindings returns none of the ids asked for (AWS leaves out ids it does not know);
  both refuse a detector the account does not have, as moto's GetDetector does.
* ``network-firewall ListFirewallPolicies`` and ``ListRuleGroups`` (empty) and
  ``DescribeFirewallPolicy`` and ``DescribeRuleGroup`` (``ResourceNotFoundException``): moto
  creates firewalls but no policy or rule group.
* ``shield DescribeDRTAccess``: no SRT role and no log bucket (moto cannot associate either).
* ``backup ListBackupSelections``, ``ListProtectedResources`` and ``ListRecoveryPointsByBackupVault``
  (empty), ``GetBackupSelection`` and ``GetBackupVaultAccessPolicy`` (``ResourceNotFoundException``):
  moto makes plans and vaults but no selection, backup or vault policy; a plan or vault it does not
  have is refused as AWS does.

Services moto does not have at all answer as an account that never used them
(:data:`ABSENT_SERVICES`): WAF Classic (``waf`` and ``waf-regional``), Storage Gateway and Backup
gateway list nothing, and a read of one resource says it does not exist. Their requests go through
moto's request handling, so the IAM-enforcing server checks their signature and IAM action like any
other. Their write calls answer ``NotImplemented``: nothing can be created there.

EC2's ``DescribeVolumes``, ``DescribeSnapshots``, ``DescribeSecurityGroups`` and
``DescribeNetworkInterfaces`` answer in pages of ``MaxResults`` with a ``NextToken`` when a request
gives ``MaxResults`` (moto answers everything at once), and refuse ``MaxResults`` with volume,
snapshot or network interface ids as AWS does. A listing of thousands then costs what it costs on AWS: several small responses, not one of
several MB that may outlast a client's read timeout.

Any other action moto lacks answers HTTP 501 ``NotImplemented`` instead of moto's HTTP 500, which
clients retry as transient (ten times, with back-off): one such call would stall a collection for
half a minute.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
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

#: GetFindings takes at most this many ids (AWS's limit)
GUARDDUTY_FINDINGS_PER_CALL = 50

_WAF_NONEXISTENT = ("WAFNonexistentItemException", "The referenced item does not exist.")


def _waf_classic() -> dict[str, Any]:
    return {
        "ListWebACLs": {"WebACLs": []},
        "ListRules": {"Rules": []},
        "ListRuleGroups": {"RuleGroups": []},
        "ListRateBasedRules": {"Rules": []},
        "GetWebACL": _WAF_NONEXISTENT,
        "GetRule": _WAF_NONEXISTENT,
        "GetRuleGroup": _WAF_NONEXISTENT,
        "GetLoggingConfiguration": _WAF_NONEXISTENT,
        "ListActivatedRulesInRuleGroup": _WAF_NONEXISTENT,
        "ListTagsForResource": _WAF_NONEXISTENT,
    }


#: Services moto lacks: signing name -> operation -> its answer for an account that never used the
#: service (a result, or an error code and message). Other operations answer ``NotImplemented``.
ABSENT_SERVICES: dict[str, dict[str, Any]] = {
    "waf": _waf_classic(),
    "waf-regional": {**_waf_classic(), "ListResourcesForWebACL": _WAF_NONEXISTENT},
    "storagegateway": {
        "ListGateways": {"Gateways": []},
        "ListVolumes": {"VolumeInfos": []},
        "ListTagsForResource": ("InvalidGatewayRequestException", "The specified resource was not found."),
    },
    "backup-gateway": {
        "ListHypervisors": {"Hypervisors": []},
        "ListVirtualMachines": {"VirtualMachines": []},
        "ListTagsForResource": ("ResourceNotFoundException", "The specified resource was not found."),
    },
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


def _result(value: dict[str, Any]) -> Any:
    """An action answering ``value``, serialized in the service's protocol by moto."""

    def action(self: Any) -> Any:
        from moto.core.responses import ActionResult

        return ActionResult(json.loads(json.dumps(value)))  # a copy: the serializer may alter it

    return action


def _service_error(code: str, message: str) -> Exception:
    """moto's serializable error ``code``, in the protocol and with the HTTP status of the service the
    request is for (moto looks the code up in that service's model)."""
    from moto.core.exceptions import ServiceException

    class EmulatorError(ServiceException):  # defined here, not in moto: moto would look in moto.core's "service"
        pass

    return EmulatorError(code, message)


def _error(code: str, message: str) -> Any:
    """An action answering the service's error ``code``."""

    def action(self: Any) -> Any:
        raise _service_error(code, message)

    return action


def _answer(answer: Any) -> Any:
    return _error(*answer) if isinstance(answer, tuple) else _result(answer)


# -- GuardDuty findings ------------------------------------------------------------------------


def _guardduty_detector(self: Any) -> str:
    detector_id = str(self.uri_match.get("DetectorId") or "")
    self.guardduty_backend.get_detector(detector_id)  # the account's detector, else moto's error for it
    return detector_id


def _guardduty_list_findings(self: Any) -> Any:
    from moto.core.responses import ActionResult

    _guardduty_detector(self)
    return ActionResult({"FindingIds": []})


def _guardduty_get_findings(self: Any) -> Any:
    from moto.core.responses import ActionResult

    _guardduty_detector(self)
    ids = json.loads(self.body or "{}").get("findingIds")
    if not isinstance(ids, list) or len(ids) > GUARDDUTY_FINDINGS_PER_CALL:
        raise _service_error("BadRequestException", f"findingIds must list at most {GUARDDUTY_FINDINGS_PER_CALL} ids")
    return ActionResult({"Findings": []})


# -- AWS Backup ----------------------------------------------------------------------------------


def _backup_plan(self: Any) -> None:
    self.backup_backend.get_backup_plan(str(self.uri_match.get("backupPlanId") or ""), None)


def _backup_vault(self: Any) -> None:
    from urllib.parse import unquote

    self.backup_backend.describe_backup_vault(unquote(str(self.uri_match.get("backupVaultName") or "")))


def _after(check: Any, answer: Any) -> Any:
    """``answer`` once ``check`` (which raises moto's not-found error) passed."""
    respond = _answer(answer)

    def action(self: Any) -> Any:
        check(self)
        return respond(self)

    return action


_BACKUP_NOT_FOUND = "ResourceNotFoundException"
_BACKUP_PATHS = {
    "{0}/backup/plans/(?P<plan>[^/]+)/selections/$",
    "{0}/backup/plans/(?P<plan>[^/]+)/selections/(?P<selection>[^/]+)$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$",
    "{0}/backup-vaults/(?P<name>[^/]+)/access-policy$",
    "{0}/resources/$",
}
_GUARDDUTY_PATHS = {
    "{0}/detector/(?P<detector_id>[^/]+)/findings$",
    "{0}/detector/(?P<detector_id>[^/]+)/findings/get$",
}


# -- EC2 listings in pages --------------------------------------------------------------------------

#: EC2 listings moto answers whole whatever ``MaxResults`` says: action -> (result key, the ids
#: parameter AWS refuses together with ``MaxResults``, None where AWS does not say it does)
_EC2_PAGED: dict[str, tuple[str, str | None]] = {
    "describe_volumes": ("Volumes", "VolumeIds"),
    "describe_snapshots": ("Snapshots", "SnapshotIds"),
    "describe_security_groups": ("SecurityGroups", None),
    "describe_network_interfaces": ("NetworkInterfaces", "NetworkInterfaceIds"),
}


def _paged(original: Any, key: str, ids_param: str | None) -> Any:
    """``original`` answering at most ``MaxResults`` elements a page with a ``NextToken``, as AWS does;
    like AWS, ``MaxResults`` together with ids is refused, and an unknown token too."""

    def action(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.ec2.exceptions import InvalidNextToken, InvalidParameterCombination

        limit = self._get_param("MaxResults")
        if limit is None:
            return original(self)
        if ids_param and self._get_param(ids_param, []):
            raise InvalidParameterCombination(f"The parameter {ids_param} cannot be used with the parameter maxResults")
        result = original(self)
        elements = list(result.result.get(key) or [])
        token = self._get_param("NextToken")
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise InvalidNextToken(token) from None
        end = start + max(5, int(limit))
        page: dict[str, Any] = {key: elements[start:end]}
        if end < len(elements):
            page["NextToken"] = base64.urlsafe_b64encode(str(end).encode()).decode()
        return ActionResult(page)

    action._phiwatch_paged = True  # type: ignore[attr-defined]
    return action


def _page_ec2_listings() -> None:
    from moto.ec2.responses import EC2Response

    for name, (key, ids_param) in _EC2_PAGED.items():
        original = getattr(EC2Response, name)
        if not getattr(original, "_phiwatch_paged", False):
            setattr(EC2Response, name, _paged(original, key, ids_param))


# -- services moto does not have ------------------------------------------------------------------

_SIGNING_NAME = re.compile(r"Credential=[^/,]+/[^/,]+/[^/,]+/([^/,]+)/")
_absent_apps: dict[str, Any] = {}
_absent_lock = threading.Lock()


def absent_service_response(name: str) -> Any:
    """A moto response class answering the operations :data:`ABSENT_SERVICES` lists for ``name``."""
    from moto.core.responses import BaseResponse

    def __init__(self: Any) -> None:
        BaseResponse.__init__(self, service_name=name)
        self.automated_parameter_parsing = True

    members: dict[str, Any] = {"__init__": __init__}
    for operation, answer in ABSENT_SERVICES[name].items():
        members[_snake(operation)] = _answer(answer)
    return type(f"Absent{name.title().replace('-', '')}Response", (BaseResponse,), members)


def _snake(operation: str) -> str:
    from moto.core.utils import camelcase_to_underscores

    return str(camelcase_to_underscores(operation))


def _absent_service_app(name: str) -> Any:
    """A Flask app like moto's per-service ones, every path handled by the service's response class."""
    with _absent_lock:
        app = _absent_apps.get(name)
        if app is None:
            from flask import Flask
            from moto.core.utils import convert_to_flask_response
            from moto.moto_server.werkzeug_app import BackendRequest

            app = Flask("moto")
            app.request_class = BackendRequest
            view = convert_to_flask_response(absent_service_response(name).dispatch)
            for rule in ("/", "/<path:path>"):
                app.add_url_rule(rule, endpoint=f"{name}.dispatch{rule}", view_func=view, methods=["POST", "GET"], strict_slashes=False)
            _absent_apps[name] = app
        return app


def _route_absent_services() -> None:
    """Send requests signed for a service of :data:`ABSENT_SERVICES` to its response class."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication.__call__, "_phiwatch_absent", False):
        return
    original = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        found = _SIGNING_NAME.search(environ.get("HTTP_AUTHORIZATION") or "")
        if found and found.group(1) in ABSENT_SERVICES:
            return _absent_service_app(found.group(1))(environ, start_response)
        return original(self, environ, start_response)

    __call__._phiwatch_absent = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.__call__ = __call__  # type: ignore[method-assign]


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
    """Add the actions to moto's response classes and their paths to moto's URL tables (idempotent;
    moto dispatches by method name, and builds each service's routes on its first request)."""
    import moto.backup.urls
    import moto.guardduty.urls
    from moto.backup.responses import BackupResponse
    from moto.ec2.responses import EC2Response
    from moto.guardduty.responses import GuardDutyResponse
    from moto.networkfirewall.responses import NetworkFirewallResponse
    from moto.shield.responses import ShieldResponse
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.wafv2.responses import WAFV2Response

    _answer_unimplemented_with_501()
    _route_absent_services()
    _page_ec2_listings()

    firewall_not_found = ("ResourceNotFoundException", "Resource not found.")
    additions = (
        (WAFV2Response, "list_resources_for_web_acl", _list_resources_for_web_acl),
        (EC2Response, "get_ebs_default_kms_key_id", _get_ebs_default_kms_key_id),
        (SimpleSystemManagerResponse, "describe_instance_information", _empty("InstanceInformationList")),
        (SimpleSystemManagerResponse, "list_resource_compliance_summaries", _empty("ResourceComplianceSummaryItems")),
        (GuardDutyResponse, "list_findings", _guardduty_list_findings),
        (GuardDutyResponse, "get_findings", _guardduty_get_findings),
        (NetworkFirewallResponse, "list_firewall_policies", _result({"FirewallPolicies": []})),
        (NetworkFirewallResponse, "list_rule_groups", _result({"RuleGroups": []})),
        (NetworkFirewallResponse, "describe_firewall_policy", _error(*firewall_not_found)),
        (NetworkFirewallResponse, "describe_rule_group", _error(*firewall_not_found)),
        (ShieldResponse, "describe_drt_access", _result({})),
        (BackupResponse, "list_backup_selections", _after(_backup_plan, {"BackupSelectionsList": []})),
        (BackupResponse, "get_backup_selection", _after(_backup_plan, (_BACKUP_NOT_FOUND, "Selection not found."))),
        (BackupResponse, "list_recovery_points_by_backup_vault", _after(_backup_vault, {"RecoveryPoints": []})),
        (
            BackupResponse,
            "get_backup_vault_access_policy",
            _after(_backup_vault, (_BACKUP_NOT_FOUND, "Backup vault has no access policy.")),
        ),
        (BackupResponse, "list_protected_resources", _result({"Results": []})),
    )
    for cls, name, fn in additions:
        if not hasattr(cls, name):
            setattr(cls, name, fn)
    for urls, paths, handler in (
        (moto.backup.urls, _BACKUP_PATHS, BackupResponse.dispatch),
        (moto.guardduty.urls, _GUARDDUTY_PATHS, GuardDutyResponse.dispatch),
    ):
        for path in paths:
            urls.url_paths.setdefault(path, handler)
