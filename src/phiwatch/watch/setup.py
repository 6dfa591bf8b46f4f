"""``phiwatch watch setup``: what an account needs so that phiwatch hears of every change.

Created (idempotently: an existing resource is compared with what is wanted and updated only
when it differs) in the *home* region (the first ``--region``):

* an SQS dead-letter queue ``<name>-dlq`` (14 days retention, SSE-SQS) that accepts redrives
  only from the queue below;
* the SQS queue ``<name>`` (SSE-SQS, long polling, ``VisibilityTimeout`` longer than one
  re-collection) whose redrive policy moves a message to the dead-letter queue after
  ``maxReceiveCount`` failed receives;
* the queue policy: ``sqs:SendMessage`` for the service principal ``events.amazonaws.com`` only
  when ``aws:SourceArn`` is one of phiwatch's rules (no other rule, account or principal may
  send), and a deny of any non-TLS request;
* EventBridge rules on the default bus, each with a pattern of at most 2,048 characters
  (EventBridge's default quota), together matching ``detail-type`` "AWS API Call via CloudTrail"
  for the write calls of :mod:`phiwatch.watch.events` (``source`` ``aws.<service>`` and
  ``detail.eventSource`` / ``detail.eventName``), plus one rule for AWS Config's
  "Config Configuration Item Change"; each targets the queue.

Events of other regions: CloudTrail delivers an event to EventBridge in the region of the
call (IAM's and other global services' in us-east-1). For every other region watched
(``--region``, and us-east-1 when IAM is watched from another home region) setup creates the
same rules there targeting the home region's default event bus, through the role
``<name>-forwarder`` that may only ``events:PutEvents`` on that bus.

EventBridge receives "AWS API Call via CloudTrail" events only while a CloudTrail trail logs
management events: setup checks and warns (it never creates a trail).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from phiwatch.errors import CannotRunError
from phiwatch.watch.events import cloudtrail_patterns, config_pattern

TARGET_ID = "phiwatch-watch-queue"
FORWARD_TARGET_ID = "phiwatch-watch-home-bus"
TAGS = {"ManagedBy": "phiwatch", "Purpose": "phiwatch-watch"}


@dataclass
class SetupOptions:
    name: str = "phiwatch-watch"
    max_receive_count: int = 5
    visibility_timeout: int = 900
    retention_seconds: int = 4 * 24 * 3600
    dlq_retention_seconds: int = 14 * 24 * 3600
    services: list[str] | None = None  # collectors whose events to send (default: all)
    config_events: bool = True
    forward_regions: list[str] = field(default_factory=list)


@dataclass
class Action:
    kind: str  # dead-letter queue | queue | queue policy | rule | rule target | forwarder role
    name: str
    region: str
    status: str  # created | updated | unchanged | deleted (dry run: "would create" ...)
    arn: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class SetupResult:
    home_region: str
    account_id: str
    queue_url: str | None
    queue_arn: str
    dlq_arn: str
    rule_arns: list[str]
    actions: list[Action] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    patterns: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "home_region": self.home_region,
            "account_id": self.account_id,
            "queue_url": self.queue_url,
            "queue_arn": self.queue_arn,
            "dead_letter_queue_arn": self.dlq_arn,
            "rule_arns": self.rule_arns,
            "dry_run": self.dry_run,
            "actions": [a.to_dict() for a in self.actions],
            "warnings": self.warnings,
            "patterns": self.patterns,
        }


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def _norm(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


class _Setup:
    def __init__(self, aws: Any, options: SetupOptions, dry_run: bool) -> None:
        self.aws = aws
        self.options = options
        self.dry_run = dry_run
        self.home = aws.regions[0] if aws.regions else aws.default_region
        self.partition = partition_of(self.home)
        self.account = aws.account_id()
        self.actions: list[Action] = []
        self.warnings: list[str] = []

    # -- helpers ------------------------------------------------------------------------------
    def note(self, kind: str, name: str, region: str, status: str, arn: str | None = None, detail: str = "") -> None:
        shown = (
            {"created": "would create", "updated": "would update", "deleted": "would delete"}.get(status, status)
            if self.dry_run
            else status
        )
        self.actions.append(Action(kind, name, region, shown, arn, detail))

    def queue_arn(self, name: str) -> str:
        return f"arn:{self.partition}:sqs:{self.home}:{self.account}:{name}"

    def rule_arn(self, region: str, name: str) -> str:
        return f"arn:{partition_of(region)}:events:{region}:{self.account}:rule/{name}"

    def bus_arn(self, region: str) -> str:
        return f"arn:{partition_of(region)}:events:{region}:{self.account}:event-bus/default"

    # -- SQS --------------------------------------------------------------------------------
    def ensure_queue(self, kind: str, name: str, attributes: dict[str, str]) -> str | None:
        sqs = self.aws.client("sqs", self.home)
        arn = self.queue_arn(name)
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if _code(exc) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                raise
            url = None
        if url is None:
            self.note(kind, name, self.home, "created", arn, _describe_attributes(attributes))
            if self.dry_run:
                return None
            return sqs.create_queue(QueueName=name, Attributes=attributes, tags=TAGS)["QueueUrl"]
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        differs = {k: v for k, v in attributes.items() if _norm(current.get(k)) != _norm(v)}
        if differs:
            self.note(kind, name, self.home, "updated", arn, "set " + ", ".join(sorted(differs)))
            if not self.dry_run:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=differs)
        else:
            self.note(kind, name, self.home, "unchanged", arn)
        return url

    # -- EventBridge ------------------------------------------------------------------------------
    def ensure_rule(self, region: str, name: str, pattern: dict[str, Any], target: dict[str, Any], description: str) -> str:
        events = self.aws.client("events", region)
        arn = self.rule_arn(region, name)
        text = json.dumps(pattern, separators=(",", ":"))
        try:
            current = events.describe_rule(Name=name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            current = None
        if current is None:
            self.note("rule", name, region, "created", arn, f"pattern {len(text)} chars")
            if not self.dry_run:
                arn = events.put_rule(
                    Name=name,
                    EventPattern=text,
                    State="ENABLED",
                    Description=description,
                    Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
                )["RuleArn"]
        elif _norm(current.get("EventPattern")) != pattern or current.get("State") != "ENABLED":
            arn = current.get("Arn", arn)
            self.note("rule", name, region, "updated", arn, f"pattern {len(text)} chars")
            if not self.dry_run:
                events.put_rule(Name=name, EventPattern=text, State="ENABLED", Description=description)
        else:
            arn = current.get("Arn", arn)
            self.note("rule", name, region, "unchanged", arn)
        targets = [] if current is None else events.list_targets_by_rule(Rule=name).get("Targets", [])
        existing = next((t for t in targets if t.get("Id") == target["Id"]), None)
        if existing is not None and all(existing.get(k) == v for k, v in target.items()):
            self.note("rule target", f"{name} -> {target['Arn']}", region, "unchanged")
        else:
            self.note("rule target", f"{name} -> {target['Arn']}", region, "created" if existing is None else "updated")
            if not self.dry_run:
                result = events.put_targets(Rule=name, Targets=[target])
                if result.get("FailedEntryCount"):
                    raise CannotRunError(f"EventBridge refused the target of rule {name}: {result.get('FailedEntries')}")
        return arn

    def remove_stale_rules(self, region: str, keep: set[str]) -> None:
        """Rules of an earlier setup no longer wanted (fewer pattern chunks, config events off)."""
        events = self.aws.client("events", region)
        prefix = f"{self.options.name}-"
        try:
            rules = events.list_rules(NamePrefix=prefix).get("Rules", [])
        except ClientError:
            return
        for rule in rules:
            name = rule["Name"]
            if name in keep or not (name.startswith(prefix + "api-calls-") or name == prefix + "config-items"):
                continue
            self.note("rule", name, region, "deleted", rule.get("Arn"))
            if self.dry_run:
                continue
            ids = [t["Id"] for t in events.list_targets_by_rule(Rule=name).get("Targets", [])]
            if ids:
                events.remove_targets(Rule=name, Ids=ids)
            events.delete_rule(Name=name)

    # -- IAM role for cross-region forwarding ---------------------------------------------------------
    def ensure_forwarder_role(self) -> str:
        iam = self.aws.client("iam", self.home)
        name = f"{self.options.name}-forwarder"
        arn = f"arn:{self.partition}:iam::{self.account}:role/{name}"
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": self.account}},
                }
            ],
        }
        permissions = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": self.bus_arn(self.home)}],
        }
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            role = None
        if role is None:
            self.note("forwarder role", name, "global", "created", arn, "events:PutEvents on the home bus only")
            if not self.dry_run:
                arn = iam.create_role(
                    RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(trust),
                    Description="phiwatch watch: forwards change events to the home region's event bus",
                    Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
                )["Role"]["Arn"]
                iam.put_role_policy(RoleName=name, PolicyName="put-events-home-bus", PolicyDocument=json.dumps(permissions))
            return arn
        arn = role.get("Arn", arn)
        try:
            current = _norm(iam.get_role_policy(RoleName=name, PolicyName="put-events-home-bus").get("PolicyDocument"))
        except ClientError:
            current = None
        if isinstance(current, str):
            from urllib.parse import unquote

            current = _norm(unquote(current))
        if current != permissions or _norm(role.get("AssumeRolePolicyDocument")) != trust:
            self.note("forwarder role", name, "global", "updated", arn)
            if not self.dry_run:
                iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
                iam.put_role_policy(RoleName=name, PolicyName="put-events-home-bus", PolicyDocument=json.dumps(permissions))
        else:
            self.note("forwarder role", name, "global", "unchanged", arn)
        return arn

    # -- CloudTrail check -----------------------------------------------------------------------------
    def check_trail(self) -> None:
        ct = self.aws.client("cloudtrail", self.home)
        try:
            trails = ct.describe_trails(includeShadowTrails=True).get("trailList", [])
            logging_on = False
            for trail in trails:
                status = ct.get_trail_status(Name=trail.get("TrailARN") or trail["Name"])
                if status.get("IsLogging"):
                    logging_on = True
                    break
        except (ClientError, BotoCoreError) as exc:
            self.warnings.append(
                f"could not check CloudTrail ({_code(exc)}): EventBridge receives API call events only while a trail logs management events"
            )
            return
        if not logging_on:
            self.warnings.append(
                f'no CloudTrail trail is logging in {self.home}: EventBridge receives "AWS API Call via CloudTrail" '
                "events only while a trail logs management events (create a multi-region trail); until then only "
                "the scheduled sweeps catch changes"
            )

    # -- the whole setup -----------------------------------------------------------------------------
    def run(self) -> SetupResult:
        o = self.options
        dlq_name, queue_name = f"{o.name}-dlq", o.name
        queue_arn, dlq_arn = self.queue_arn(queue_name), self.queue_arn(dlq_name)
        patterns = cloudtrail_patterns(o.services)
        rules = {f"{o.name}-api-calls-{i}": p for i, p in enumerate(patterns, start=1)}
        if o.config_events:
            rules[f"{o.name}-config-items"] = config_pattern()
        rule_arns = [self.rule_arn(self.home, name) for name in rules]

        dlq_url = self.ensure_queue(
            "dead-letter queue",
            dlq_name,
            {
                "MessageRetentionPeriod": str(o.dlq_retention_seconds),
                "SqsManagedSseEnabled": "true",
            },
        )
        queue_url = self.ensure_queue(
            "queue",
            queue_name,
            {
                "VisibilityTimeout": str(o.visibility_timeout),
                "MessageRetentionPeriod": str(o.retention_seconds),
                "ReceiveMessageWaitTimeSeconds": "20",
                "SqsManagedSseEnabled": "true",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": o.max_receive_count}),
            },
        )
        policy = queue_policy(queue_arn, rule_arns)
        if queue_url is None:
            self.note("queue policy", queue_name, self.home, "created", queue_arn, f"SendMessage from {len(rule_arns)} rule(s) only")
        else:
            self.ensure_queue_policy(queue_url, queue_name, queue_arn, policy, len(rule_arns))
        if dlq_url is not None:
            self.ensure_redrive_allow(dlq_url, dlq_name, dlq_arn, queue_arn)

        target = {"Id": TARGET_ID, "Arn": queue_arn}
        arns = []
        for name, pattern in rules.items():
            description = (
                "phiwatch watch: AWS Config item changes"
                if name.endswith("config-items")
                else "phiwatch watch: write API calls of the collected services"
            )
            arns.append(self.ensure_rule(self.home, name, pattern, target, description))
        self.remove_stale_rules(self.home, set(rules))

        forward = list(o.forward_regions)
        if self.partition == "aws" and self.home != "us-east-1" and (o.services is None or "iam" in o.services):
            forward.append("us-east-1")  # IAM's (global) events reach EventBridge in us-east-1 only
        forward = [r for r in dict.fromkeys(forward) if r != self.home]
        if forward:
            role_arn = self.ensure_forwarder_role()
            home_bus = {"Id": FORWARD_TARGET_ID, "Arn": self.bus_arn(self.home), "RoleArn": role_arn}
            for region in forward:
                for name, pattern in rules.items():
                    self.ensure_rule(region, name, pattern, home_bus, f"phiwatch watch: forward to {self.home}")
                self.remove_stale_rules(region, set(rules))
        self.check_trail()
        return SetupResult(
            home_region=self.home,
            account_id=self.account,
            queue_url=queue_url,
            queue_arn=queue_arn,
            dlq_arn=dlq_arn,
            rule_arns=arns,
            actions=self.actions,
            warnings=self.warnings,
            dry_run=self.dry_run,
            patterns=rules,
        )

    def ensure_redrive_allow(self, url: str, name: str, arn: str, queue_arn: str) -> None:
        """Only the watch queue may redrive into the dead-letter queue."""
        sqs = self.aws.client("sqs", self.home)
        allow = {"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn]}
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        if _norm(current.get("RedriveAllowPolicy")) == allow:
            return
        if self.dry_run:
            self.note("dead-letter queue", f"{name} redrive allow policy", self.home, "updated", arn, "redrives from the queue only")
            return
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": json.dumps(allow)})
        after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        if "RedriveAllowPolicy" in after:
            self.note("dead-letter queue", f"{name} redrive allow policy", self.home, "updated", arn, "redrives from the queue only")

    def ensure_queue_policy(self, url: str, name: str, arn: str, policy: dict[str, Any], rules: int) -> None:
        sqs = self.aws.client("sqs", self.home)
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
        if _norm(current) == policy:
            self.note("queue policy", name, self.home, "unchanged", arn)
            return
        self.note("queue policy", name, self.home, "created" if not current else "updated", arn, f"SendMessage from {rules} rule(s) only")
        if not self.dry_run:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def queue_policy(queue_arn: str, rule_arns: list[str]) -> dict[str, Any]:
    """EventBridge may send, and only from phiwatch's rules; nobody may use the queue without TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventBridgeRulesOfPhiwatchOnly",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rule_arns)}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def _describe_attributes(attributes: dict[str, str]) -> str:
    shown = []
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy"):
        if key in attributes:
            value = attributes[key]
            if key == "RedrivePolicy":
                value = f"maxReceiveCount {json.loads(value)['maxReceiveCount']}"
            shown.append(f"{key} {value}")
    return ", ".join(shown)


def run_setup(aws: Any, options: SetupOptions | None = None, dry_run: bool = False) -> SetupResult:
    """Create or update (or with ``dry_run`` only describe) what ``phiwatch watch`` needs."""
    options = options or SetupOptions()
    try:
        return _Setup(aws, options, dry_run).run()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "?")
        raise CannotRunError(f"watch setup failed on {op}: {error.get('Code')}: {str(error.get('Message', ''))[:200]}") from exc
    except BotoCoreError as exc:
        raise CannotRunError(f"watch setup could not reach AWS: {exc}") from exc
