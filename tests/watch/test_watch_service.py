"""The watch service against moto's server: a real SQS queue and EventBridge rules created by
``watch setup``, changes made through boto3, the CloudTrail-shaped event put on the bus, and the
service loop run in-process for a bounded number of receives.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
import uuid

import pytest
from botocore.awsrequest import AWSResponse

from phiwatch.aws.session import AwsContext
from phiwatch.collect.runner import collect
from phiwatch.policy import parse_policy
from phiwatch.store.tables import findings, resources
from phiwatch.watch.metrics import MetricsServer
from phiwatch.watch.service import WatchOptions, WatchService
from phiwatch.watch.setup import SetupOptions, queue_policy, run_setup
from test_faults import _Body

ACCOUNT = "123456789012"
MALLORY = f"arn:aws:iam::{ACCOUNT}:user/mallory"
OPS = f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/jane"
SG = "AWS::EC2::SecurityGroup"
OPEN_SSH = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def now_iso(offset: float = 0.0) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")


class WatchEnv:
    def __init__(self, aws_env, store, **setup) -> None:
        self.env = aws_env
        self.store = store
        self.aws = aws_env.context()
        self.setup = run_setup(self.aws, SetupOptions(**{"visibility_timeout": 30, "max_receive_count": 2, **setup}))
        self.queue_url = self.setup.queue_url
        self.sqs = aws_env.client("sqs")
        self.events = aws_env.client("events")
        self.ec2 = aws_env.client("ec2")
        sns = aws_env.client("sns")
        self.topic = sns.create_topic(Name="hipaa-alerts")["TopicArn"]
        self.inbox = self.sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        inbox_arn = self.sqs.get_queue_attributes(QueueUrl=self.inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=inbox_arn)

    def policy(self, remediation: str = "off", extra: str = ""):
        return parse_policy(
            f"notifications:\n  - {{name: security-team, channel: sns, target: '{self.topic}'}}\n"
            f"remediation:\n  mode: 'off'\n  rules:\n    restricted-ssh: {{mode: '{remediation}'}}\n" + extra
        )

    def service(self, policy=None, aws=None, **options) -> WatchService:
        opts = {
            "queue_url": self.queue_url,
            "wait_seconds": 0,
            "full_sweep_seconds": 0,
            "periodic_check_seconds": 0,
            "sweep_on_start": False,
            "retry_delay": 0,
            **options,
        }
        return WatchService(aws or self.aws, self.store, policy or self.policy(), WatchOptions(**opts))

    def put(
        self,
        source: str,
        name: str,
        request: dict,
        *,
        actor: str = MALLORY,
        event_id: str | None = None,
        event_time: str | None = None,
        response: dict | None = None,
        region: str = "us-east-1",
    ) -> str:
        event_id = event_id or str(uuid.uuid4())
        detail = {
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": actor, "accountId": ACCOUNT},
            "eventTime": event_time or now_iso(),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2",
            "requestParameters": request,
            "responseElements": response,
            "requestID": str(uuid.uuid4()),
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
        }
        out = self.events.put_events(
            Entries=[{"Source": "aws." + source.split(".")[0], "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}]
        )
        assert out["FailedEntryCount"] == 0
        return event_id

    def send_raw(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def queued(self, url: str | None = None) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url or self.queue_url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def alerts(self, want: int = 1, tries: int = 10) -> list[dict]:
        out = []
        for _ in range(tries):
            got = self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            out += [json.loads(json.loads(m["Body"])["Message"]) for m in got]
            if len(out) >= want and not got:
                break
        return out

    def history(self, resource_id: str, resource_type: str = SG) -> list[dict]:
        row = self.store.resolve(resource_id, resource_type)
        return self.store.history(row["id"])

    def finding(self, rule_id: str, resource_id: str) -> dict | None:
        from sqlalchemy import select

        with self.store.engine.connect() as conn:
            row = (
                conn.execute(
                    select(findings)
                    .join(resources, resources.c.id == findings.c.resource_pk)
                    .where(findings.c.rule_id == rule_id, resources.c.resource_id == resource_id)
                )
                .mappings()
                .first()
            )
            return dict(row) if row else None

    def security_group(self, name: str) -> str:
        vpc = self.ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        return self.ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]


@pytest.fixture
def watch(aws_env, store) -> WatchEnv:
    return WatchEnv(aws_env, store)


def test_setup_creates_queue_dlq_policy_and_rules_idempotently(aws_env):
    aws = aws_env.context()
    plan = run_setup(aws, SetupOptions(max_receive_count=3), dry_run=True)
    assert plan.queue_url is None and {a.status for a in plan.actions} == {"would create"}
    sqs, events = aws_env.client("sqs"), aws_env.client("events")
    assert sqs.list_queues().get("QueueUrls", []) == [] and events.list_rules()["Rules"] == []

    first = run_setup(aws, SetupOptions(max_receive_count=3))
    attrs = sqs.get_queue_attributes(QueueUrl=first.queue_url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": first.dlq_arn, "maxReceiveCount": 3}
    assert attrs["SqsManagedSseEnabled"] == "true" and attrs["VisibilityTimeout"] == "900"
    policy = json.loads(attrs["Policy"])
    assert policy == queue_policy(first.queue_arn, first.rule_arns)
    allow = policy["Statement"][0]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert sorted(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(first.rule_arns)
    rules = {r["Name"]: r for r in events.list_rules(NamePrefix="phiwatch-watch")["Rules"]}
    assert set(rules) == {a.rsplit("/", 1)[1] for a in first.rule_arns} and "phiwatch-watch-config-items" in rules
    for name, rule in rules.items():
        pattern = json.loads(rule["EventPattern"])
        assert len(rule["EventPattern"]) <= 2048
        if name.endswith("config-items"):
            assert pattern == {"source": ["aws.config"], "detail-type": ["Config Configuration Item Change"]}
        else:
            assert pattern["detail-type"] == ["AWS API Call via CloudTrail"] and all(s.startswith("aws.") for s in pattern["source"])
        [target] = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == first.queue_arn
    assert any("no CloudTrail trail is logging" in w for w in first.warnings)

    again = run_setup(aws, SetupOptions(max_receive_count=3))
    assert {a.status for a in again.actions} == {"unchanged"} and again.queue_url == first.queue_url
    # a changed setting is updated, an extra rule of an older setup removed
    events.put_rule(Name="phiwatch-watch-api-calls-99", EventPattern=json.dumps({"source": ["aws.ec2"]}))
    changed = run_setup(aws, SetupOptions(max_receive_count=7, config_events=False))
    statuses = {(a.kind, a.name): a.status for a in changed.actions}
    assert statuses[("queue", "phiwatch-watch")] == "updated"
    assert statuses[("rule", "phiwatch-watch-api-calls-99")] == "deleted" and statuses[("rule", "phiwatch-watch-config-items")] == "deleted"
    assert "phiwatch-watch-config-items" not in {r["Name"] for r in events.list_rules()["Rules"]}
    attrs = sqs.get_queue_attributes(QueueUrl=first.queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == 7


def test_open_ssh_port_recorded_with_who_alerted_and_remediated(watch):
    sg = watch.security_group("web-tier")
    collect(watch.aws, watch.store, services=["ec2"])
    svc = watch.service(watch.policy(remediation="auto"))
    svc.run(max_polls=1)  # evaluates what the initial collection stored
    watch.alerts(want=0, tries=2)  # drop the initial findings' alerts

    watch.ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=OPEN_SSH)
    event_id = watch.put(
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        {
            "groupId": sg,
            "ipPermissions": {
                "items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]
            },
        },
    )
    svc.run(max_polls=2)

    history = watch.history(sg)
    assert [v["changed_by"] for v in history][:2] == [None, MALLORY]
    opened = history[1]["item"]["configuration"]["IpPermissions"]
    assert any(p.get("FromPort") == 22 and {"CidrIp": "0.0.0.0/0"} in p.get("IpRanges", []) for p in opened)
    # remediation (auto for restricted-ssh) revoked the rule and verified it by re-collecting
    assert history[-1]["changed_by"].startswith("phiwatch remediation")
    assert not any(p.get("FromPort") == 22 for p in history[-1]["item"]["configuration"]["IpPermissions"])
    current = watch.ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]
    assert not any(p.get("FromPort") == 22 for p in current)
    assert watch.finding("restricted-ssh", sg)["status"] == "remediated"
    alerts = [a for a in watch.alerts(want=2) if a["resource_id"] == sg and a["rule_id"] == "restricted-ssh"]
    assert [a["event"] for a in alerts] == ["opened", "remediation_applied"]
    assert alerts[0]["severity"] == "high" and alerts[0]["arn"].endswith(f"security-group/{sg}")
    assert watch.queued() == 0  # acknowledged only after all that
    assert svc.metrics.counter("events_processed_total", outcome="changed") == 1
    assert svc.metrics.counter("remediations_total", status="applied") == 1
    assert event_id in svc._done


def test_account_level_call_reevaluates_the_account_rule(watch):
    watch.ec2.enable_ebs_encryption_by_default()
    collect(watch.aws, watch.store, services=["ec2"])
    svc = watch.service()
    svc.run(max_polls=1)
    assert (watch.finding("ec2-ebs-encryption-by-default", ACCOUNT) or {}).get("status") != "open"
    watch.alerts(want=0, tries=2)

    watch.ec2.disable_ebs_encryption_by_default()
    watch.put("ec2.amazonaws.com", "DisableEbsEncryptionByDefault", {"DisableEbsEncryptionByDefaultRequest": ""}, actor=OPS)
    svc.run(max_polls=1)

    [account] = [r for r in watch.store.find(ACCOUNT, "AWS::::Account") if r["region"] == "us-east-1"]
    history = watch.store.history(account["id"])
    assert history[-1]["changed_by"] == OPS and history[-1]["item"]["configuration"]["ebsEncryptionByDefault"] is False
    assert history[-2]["item"]["configuration"]["ebsEncryptionByDefault"] is True
    assert watch.finding("ec2-ebs-encryption-by-default", ACCOUNT)["status"] == "open"
    assert [a["event"] for a in watch.alerts() if a["rule_id"] == "ec2-ebs-encryption-by-default"] == ["opened"]


def test_malformed_unknown_and_failed_calls_are_acknowledged(watch):
    collect(watch.aws, watch.store, services=["ec2"])  # the baseline: re-collecting finds nothing new
    svc = watch.service()
    watch.send_raw("{this is not json")
    watch.send_raw(json.dumps(["an", "array"]))
    watch.put("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": "sg-1"})  # routed by the rule
    watch.send_raw(
        json.dumps(
            {
                "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.ec2",
                "detail": {
                    "eventSource": "ec2.amazonaws.com",
                    "eventName": "CreateKeyPair",
                    "awsRegion": "us-east-1",
                    "eventTime": now_iso(),
                },
            }
        )
    )
    watch.send_raw(
        json.dumps(
            {
                "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.ec2",
                "detail": {
                    "eventSource": "ec2.amazonaws.com",
                    "eventName": "DeleteVolume",
                    "errorCode": "Client.UnauthorizedOperation",
                    "awsRegion": "us-east-1",
                    "eventTime": now_iso(),
                    "requestParameters": {"volumeId": "vol-1"},
                },
            }
        )
    )
    watch.send_raw(
        json.dumps(
            {
                "detail-type": "AWS API Call via CloudTrail",
                "detail": {
                    "eventSource": "ec2.amazonaws.com",
                    "eventName": "DeleteVolume",
                    "awsRegion": "eu-north-1",
                    "eventTime": now_iso(),
                    "requestParameters": {"volumeId": "vol-1"},
                },
            }
        )
    )  # a region this watcher does not collect
    svc.run(max_polls=3)
    assert watch.queued() == 0
    m = svc.metrics
    assert m.counter("events_processed_total", outcome="malformed") == 2
    assert m.counter("events_processed_total", outcome="ignored") == 3
    # the event for a security group that does not exist: re-collected, nothing to record, acknowledged
    assert m.counter("events_processed_total", outcome="unchanged") == 1
    assert m.counter("events_failed_total") == 0


def test_duplicates_and_out_of_order_events_change_nothing(watch):
    sg = watch.security_group("db-tier")
    collect(watch.aws, watch.store, services=["ec2"])
    svc = watch.service()
    svc.run(max_polls=1)
    t_alice = now_iso()
    watch.ec2.authorize_security_group_ingress(
        GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    )
    time.sleep(0.05)
    t_bob = now_iso()
    watch.ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=OPEN_SSH)
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    alice = f"arn:aws:iam::{ACCOUNT}:user/alice"
    # the later change arrives first, then the earlier one, then a duplicate of each
    watch.put("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": sg}, actor=bob, event_id="evt-bob", event_time=t_bob)
    svc.run(max_polls=1)
    watch.put("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": sg}, actor=alice, event_id="evt-alice", event_time=t_alice)
    svc.run(max_polls=1)
    before = [(v["version"], v["state_id"], v["changed_by"]) for v in watch.history(sg)]
    assert [v[2] for v in before] == [None, f"{bob}, {alice}"]  # one version holds both changes
    with watch.store.engine.connect() as conn:
        finding_rows = [dict(r) for r in conn.execute(findings.select()).mappings()]
    watch.alerts(want=1)

    watch.put("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": sg}, actor=bob, event_id="evt-bob", event_time=t_bob)
    svc.run(max_polls=1)
    assert svc.metrics.counter("events_processed_total", outcome="duplicate") == 1
    # a new process has no memory of processed events: the re-collection finds nothing new
    fresh = watch.service()
    watch.put("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": sg}, actor=alice, event_id="evt-alice", event_time=t_alice)
    # a stale event from before phiwatch first saw the group names nobody
    watch.put("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": sg}, actor=MALLORY, event_time=now_iso(-3600))
    fresh.run(max_polls=1)
    assert fresh.metrics.counter("events_processed_total", outcome="unchanged") == 2
    assert [(v["version"], v["state_id"], v["changed_by"]) for v in watch.history(sg)] == before
    with watch.store.engine.connect() as conn:
        assert [dict(r) for r in conn.execute(findings.select()).mappings()] == finding_rows
    assert watch.alerts(want=0, tries=2) == []
    assert watch.queued() == 0


def test_failing_event_returns_to_the_queue_then_the_dead_letter_queue(watch, aws_env):
    from phiwatch.emulator import free_port

    collect(watch.aws, watch.store, services=["ec2"])  # the baseline: re-collecting finds nothing new

    dead = f"http://127.0.0.1:{free_port()}"  # AWS unreachable for collection; the queue still works
    broken = AwsContext(endpoint_url=dead, regions=["us-east-1"], session=aws_env.session)
    svc = watch.service(aws=broken)
    svc.sqs = watch.sqs
    watch.put("ec2.amazonaws.com", "RevokeSecurityGroupIngress", {"groupId": "sg-1"})
    svc.run(max_polls=4)
    assert svc.metrics.counter("events_failed_total") == 2  # maxReceiveCount 2
    dlq_url = watch.sqs.get_queue_url(QueueName="phiwatch-watch-dlq")["QueueUrl"]
    assert watch.queued() == 0 and watch.queued(dlq_url) == 1
    [msg] = watch.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(msg["Body"])["detail"]["eventName"] == "RevokeSecurityGroupIngress"

    # AWS reachable again: the next event is processed
    svc.aws = watch.aws
    watch.put("ec2.amazonaws.com", "RevokeSecurityGroupIngress", {"groupId": "sg-1"})
    svc.run(max_polls=1)
    assert watch.queued() == 0 and svc.metrics.counter("events_processed_total", outcome="unchanged") == 1


def test_unreachable_queue_backs_off_and_recovers(watch, aws_env):
    from phiwatch.emulator import free_port

    waits: list[float] = []
    svc = watch.service(max_backoff=8)
    good = svc.sqs
    svc.sqs = AwsContext(endpoint_url=f"http://127.0.0.1:{free_port()}", regions=["us-east-1"], session=aws_env.session).session.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=__import__("botocore.config", fromlist=["Config"]).Config(retries={"max_attempts": 0}, connect_timeout=1),
    )
    svc._sleep = waits.append
    svc.run(max_polls=5)
    assert len(waits) == 5 and waits[-1] > waits[0] and max(waits) <= 8 * 1.2
    ok, reason = svc.health()
    assert not ok and "not reachable" in reason
    svc.sqs = good
    watch.put("ec2.amazonaws.com", "RevokeSecurityGroupIngress", {"groupId": "sg-1"})
    svc.run(max_polls=1)
    assert watch.queued() == 0 and svc.health()[0]
    assert svc.metrics.counter("receive_errors_total") == 5


def test_metrics_and_health_over_http(watch):
    svc = watch.service()
    svc.run(max_polls=1)
    server = MetricsServer(svc.metrics, svc.health).start()
    try:
        base = f"http://{server.host}:{server.port}"
        assert server.host == "127.0.0.1"
        text = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        for name in (
            "phiwatch_watch_events_processed_total",
            "phiwatch_watch_events_failed_total",
            "phiwatch_watch_event_lag_seconds_bucket",
            "phiwatch_watch_evaluations_total",
            "phiwatch_watch_remediations_total",
            "process_resident_memory_bytes",
        ):
            assert name in text, name
        health = urllib.request.urlopen(f"{base}/healthz", timeout=5)
        assert health.status == 200 and json.loads(health.read())["status"] == "ok"
        svc.request_stop()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/healthz", timeout=5)
        assert err.value.code == 503
    finally:
        server.stop()


def test_metrics_need_a_token_off_loopback_and_check_it(watch):
    from phiwatch.errors import UsageError

    svc = watch.service()
    with pytest.raises(UsageError, match="need a token"):
        MetricsServer(svc.metrics, svc.health, host="0.0.0.0")
    server = MetricsServer(svc.metrics, svc.health, token="s3cr3t-token").start()
    try:
        base = f"http://{server.host}:{server.port}"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/metrics", timeout=5)
        assert err.value.code == 401
        wrong = urllib.request.Request(f"{base}/metrics", headers={"Authorization": "Bearer nope"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(wrong, timeout=5)
        assert err.value.code == 401
        right = urllib.request.Request(f"{base}/metrics", headers={"Authorization": "Bearer s3cr3t-token"})
        assert "phiwatch_watch_events_processed_total" in urllib.request.urlopen(right, timeout=5).read().decode()
        assert urllib.request.urlopen(f"{base}/healthz", timeout=5).status == 200  # probes need no token
    finally:
        server.stop()


def test_scheduled_sweeps_catch_changes_without_events(watch):
    sg = watch.security_group("no-event")
    svc = watch.service(full_sweep_seconds=3600, periodic_check_seconds=60, sweep_on_start=None)
    svc.run(max_polls=1)  # the store has no full collection: one runs at start
    assert svc.metrics.counter("sweeps_total", kind="full") == 1
    assert watch.history(sg)[0]["changed_by"] is None
    # the next one is an interval away; a new process sees the recent full collection and waits too
    again = watch.service(full_sweep_seconds=3600, sweep_on_start=None)
    again.run(max_polls=1)
    assert again.metrics.counter("sweeps_total", kind="full") == 0
    svc.run_due_sweeps(now=time.monotonic() + 61)
    assert svc.metrics.counter("sweeps_total", kind="periodic") == 1


def test_aws_retries_are_in_the_metrics_and_each_batch_has_a_whole_retry_budget(watch, aws_env):
    sg = watch.security_group("budget-tier")
    collect(watch.aws, watch.store, services=["ec2"])
    aws = AwsContext(endpoint_url=aws_env.endpoint, regions=["us-east-1"], session=aws_env.emu.session("us-east-1"), retry_budget=1)
    throttled: list[str] = []

    def throttle(request, event_name, **_):  # EC2's own shape of a throttle, once per batch
        if event_name.endswith(".DescribeSecurityGroups") and not throttled:
            throttled.append(event_name)
            body = b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors></Response>"
            return AWSResponse(request.url, 503, {"Content-Type": "text/xml"}, _Body(body))
        return None

    aws.client("ec2", "us-east-1").meta.events.register("before-send", throttle)
    svc = watch.service(aws=aws)
    svc.run(max_polls=1)
    request = {"groupId": sg, "ipPermissions": {"items": []}}
    for _ in range(2):  # two batches, each re-collecting the group with one throttled answer first
        throttled.clear()
        watch.put("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", request)
        svc.run(max_polls=1)

    m = svc.metrics
    assert m.counter("aws_throttles_total", service="ec2", api="DescribeSecurityGroups") == 2
    assert m.counter("aws_retries_total", service="ec2", api="DescribeSecurityGroups") == 2  # the 2nd batch had a budget too
    assert m.counter("aws_give_ups_total", service="ec2", api="DescribeSecurityGroups") == 0
    assert m.counter("aws_requests_total", service="ec2") >= 4
    assert 'phiwatch_watch_aws_retries_total{api="DescribeSecurityGroups",service="ec2"} 2' in m.render()
    assert watch.queued() == 0
