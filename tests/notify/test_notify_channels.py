"""Each channel against a real receiver: SNS through moto's server with an SQS queue subscribed,
email through aiosmtpd with STARTTLS and AUTH, Slack, webhooks and Apprise through an HTTP
server on 127.0.0.1. Findings come from the evaluator on buckets written to the store."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from notify_support import (  # noqa: F401 - fixtures
    CONTRACT_KEYS,
    T0,
    bucket,
    evaluate,
    no_sleep,
    outbox_rows,
    policy,
    receiver,
    smtp_server,
    verify_signature,
    write,
)
from phiwatch.errors import UsageError
from phiwatch.notify.channels.base import ChannelConfigError, ChannelSettings
from phiwatch.notify.dispatcher import Dispatcher, deliver
from phiwatch.policy import parse_policy

OWNER = "InstanceOwnerEmail"


def _subscribed_queue(aws_env, topic_name="hipaa-alerts"):
    sns, sqs = aws_env.client("sns"), aws_env.client("sqs")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{topic_name}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue


def _drain(sqs, queue, want, tries=10):
    envelopes = []
    for _ in range(tries):
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        envelopes += [json.loads(m["Body"]) for m in got]
        if len(envelopes) >= want and not got:
            break
    return envelopes


def test_sns_publishes_contract_json_to_subscribed_queue(aws_env, store):
    topic, queue = _subscribed_queue(aws_env)
    write(store, bucket("bucket-logging-off", logging=False), bucket("bucket-logging-on", logging=True))
    pol = policy(f"notifications:\n  - {{name: security-team, channel: sns, target: '{topic}'}}\n")
    evaluate(store, pol)
    result = deliver(store, pol, aws=aws_env.context())
    assert (result.sent, result.failed) == (1, 0)
    envelopes = _drain(aws_env.client("sqs"), queue, 1)
    assert len(envelopes) == 1
    env = envelopes[0]
    assert env["Type"] == "Notification" and env["TopicArn"] == topic
    message = json.loads(env["Message"])
    assert list(message) == CONTRACT_KEYS  # exactly the contract, no internal keys
    assert message["event"] == "opened" and message["rule_id"] == "s3-bucket-logging-enabled"
    assert message["resource_id"] == "bucket-logging-off" and message["arn"] == "arn:aws:s3:::bucket-logging-off"
    assert message["severity"] and "164.312(b)" in message["hipaa_sections"]
    assert env["MessageAttributes"]["event"]["Value"] == "opened"
    assert env["MessageAttributes"]["rule_id"]["Value"] == "s3-bucket-logging-enabled"
    [row] = outbox_rows(store)
    assert row["status"] == "sent" and row["attempts"] == 1 and row["last_error"] is None


def test_sns_malformed_arn_rejected_at_load_missing_topic_logged_other_routes_deliver(aws_env, store):
    with pytest.raises(UsageError) as err:
        policy("notifications:\n  - name: bad-arn\n    channel: sns\n    target: hipaa-alerts\n")
    assert "policy.yaml:4: notifications.0.target: " in str(err.value)
    assert "malformed SNS topic ARN 'hipaa-alerts'" in str(err.value) and "arn:aws:sns:REGION:ACCOUNT_ID:TOPIC_NAME" in str(err.value)
    with pytest.raises(UsageError, match=r"policy.yaml:2: notifications.0.target: .*sns route needs target: the topic ARN"):
        policy("notifications:\n  - {name: no-target, channel: sns}\n")
    topic, queue = _subscribed_queue(aws_env)
    write(store, bucket("bucket-logging-off", logging=False))
    pol = policy(
        "notifications:\n"
        "  - {name: gone, channel: sns, target: 'arn:aws:sns:us-east-1:123456789012:no-such-topic'}\n"
        f"  - {{name: good, channel: sns, target: '{topic}'}}\n"
    )
    evaluate(store, pol)
    result = Dispatcher(store, pol, aws=aws_env.context(), sleep=no_sleep()).dispatch()
    assert result.route("good").sent == 1
    assert "does not exist" in result.route("gone").errors[0]
    rows = {r["route"]: r for r in outbox_rows(store)}
    assert rows["gone"]["status"] == "failed" and rows["gone"]["attempts"] == 1  # NotFound is not retried in the run
    assert len(_drain(aws_env.client("sqs"), queue, 1)) == 1


def test_email_starttls_auth_owner_and_fixed_recipients(store, smtp_server, monkeypatch, tmp_path):
    monkeypatch.setenv("SMTP_USER", smtp_server.user)
    monkeypatch.setenv("SMTP_PASSWORD", smtp_server.password)
    write(
        store,
        bucket("phi-imaging-logging-off", logging=False, tags={OWNER: "imaging-team@example.org", "PHI": "Yes"}),
        bucket("phi-records-logging-off", logging=False, tags={OWNER: "records-team@example.org", "PHI": "Yes"}),
        bucket("scratch-logging-off", logging=False),
    )
    smtp = (
        f"{{host: 127.0.0.1, port: {smtp_server.port}, starttls: true, from_address: phiwatch@example.org, "
        f"username_env: SMTP_USER, password_env: SMTP_PASSWORD, ca_file: '{smtp_server.cert}'}}"
    )
    pol = policy(
        "notifications:\n"
        f"  - {{name: owners, channel: email, owner_tag: {OWNER}, smtp: {smtp}}}\n"
        f"  - {{name: security-digest, channel: email, target: 'security@example.org', digest: true, smtp: {smtp}}}\n"
    )
    evaluate(store, pol)
    result = deliver(store, pol)
    assert result.failed == 0, result.summary()
    assert result.route("owners").sent == 2 and result.route("security-digest").sent == 3
    by_to = {tuple(m["to"]): m["msg"] for m in smtp_server.messages}
    assert set(by_to) == {("imaging-team@example.org",), ("records-team@example.org",), ("security@example.org",)}
    owner_mail = by_to[("imaging-team@example.org",)]
    assert owner_mail["Subject"] == "[phiwatch] New finding (medium): s3-bucket-logging-enabled on phi-imaging-logging-off"
    body = owner_mail.get_content()
    assert "Rule:           s3-bucket-logging-enabled" in body and "arn:aws:s3:::phi-imaging-logging-off" in body
    assert "PHI" not in body  # tags (which may hold PHI) are never rendered
    digest = by_to[("security@example.org",)]
    assert digest["Subject"].startswith("[phiwatch] 3 compliance changes")
    assert all(name in digest.get_content() for name in ("phi-imaging-logging-off", "phi-records-logging-off", "scratch-logging-off"))
    # authenticated over TLS only; one connection (one login) per route and run, not per message
    assert smtp_server.logins == [("alerts", True), ("alerts", True)] and smtp_server.connections == 2


def test_email_template_override(store, smtp_server, monkeypatch, tmp_path):
    monkeypatch.setenv("SMTP_USER", smtp_server.user)
    monkeypatch.setenv("SMTP_PASSWORD", smtp_server.password)
    (tmp_path / "mail.j2").write_text(
        "Subject: HIPAA alert {{ findings[0].rule_id }}\n\nCustom: {{ findings[0].resource_id }} ({{ label(event) }})\n"
    )
    write(store, bucket("bucket-logging-off", logging=False))
    pol = policy(
        "notifications:\n"
        f"  - {{name: mail, channel: email, target: 'a@example.org, b@example.org', template: mail.j2, smtp: {{host: 127.0.0.1, "
        f"port: {smtp_server.port}, from_address: phiwatch@example.org, username_env: SMTP_USER, password_env: SMTP_PASSWORD, "
        f"ca_file: '{smtp_server.cert}'}}}}\n",
        base_dir=str(tmp_path),
    )
    evaluate(store, pol)
    assert deliver(store, pol).sent == 1
    [m] = smtp_server.messages
    assert m["to"] == ["a@example.org", "b@example.org"]
    assert m["msg"]["Subject"] == "HIPAA alert s3-bucket-logging-enabled"
    assert m["msg"].get_content().strip() == "Custom: bucket-logging-off (New finding)"


def test_slack_url_from_env_and_never_stored_or_logged(store, receiver, monkeypatch, caplog):
    secret_url = f"{receiver.url}/services/T0000/B0000/XXXXsecretXXXX"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", secret_url)
    write(store, bucket("bucket-logging-off", logging=False))
    pol = policy("notifications:\n  - {name: slack, channel: slack, secret_env: SLACK_WEBHOOK_URL}\n")
    evaluate(store, pol)
    receiver.statuses = [403]  # Slack's answer to a revoked webhook
    with caplog.at_level(logging.DEBUG):
        failed = Dispatcher(store, pol, sleep=no_sleep()).dispatch()
    assert failed.failed == 1 and "HTTP 403" in failed.route("slack").errors[0] and "invalid_token" in failed.route("slack").errors[0]
    result = Dispatcher(store, pol, sleep=no_sleep()).dispatch(force=True)
    assert result.sent == 1
    [sent] = receiver.ok()
    assert sent["path"] == "/services/T0000/B0000/XXXXsecretXXXX"
    text = json.loads(sent["body"])["text"]
    assert "*New finding* (medium) `s3-bucket-logging-enabled` on `bucket-logging-off`" in text
    stored = json.dumps(outbox_rows(store), default=str)
    assert "XXXXsecretXXXX" not in stored and "XXXXsecretXXXX" not in caplog.text
    assert "XXXXsecretXXXX" not in result.route("slack").target


def test_slack_and_apprise_urls_are_refused_in_the_policy_text():
    with pytest.raises(UsageError, match=r"policy.yaml:4: notifications.0.target: .*slack URL is a secret"):
        parse_policy("notifications:\n  - name: slack\n    channel: slack\n    target: https://hooks.slack.com/services/T/B/X\n")
    with pytest.raises(UsageError, match="apprise URL is a secret"):
        parse_policy("notifications:\n  - {name: a, channel: apprise, target: 'pagerduty://key@token'}\n")


def test_unknown_channel_and_event_rejected_with_line():
    with pytest.raises(UsageError) as err:
        parse_policy("packs: [hipaa]\nnotifications:\n  - name: teams\n    channel: teams\n    target: x\n")
    assert "policy.yaml:4: notifications.0.channel:" in str(err.value) and "'sns', 'email', 'slack', 'webhook' or 'apprise'" in str(
        err.value
    )
    with pytest.raises(UsageError, match=r"notifications.0.when.events: .*unknown event\(s\) open"):
        parse_policy(
            "notifications:\n  - {name: x, channel: sns, target: 'arn:aws:sns:us-east-1:123456789012:t', when: {events: [open]}}\n"
        )


def test_webhook_signed_body_is_the_contract(store, receiver, monkeypatch, tmp_path):
    (tmp_path / "hook.key").write_text("file-held-signing-key\n")
    write(store, bucket("bucket-logging-off", logging=False))
    pol = policy(
        f"notifications:\n  - {{name: hook, channel: webhook, target: '{receiver.url}/phiwatch', secret_file: hook.key}}\n",
        base_dir=str(tmp_path),
    )
    evaluate(store, pol)
    assert deliver(store, pol).sent == 1
    [req] = receiver.ok()
    assert verify_signature(req, "file-held-signing-key")
    assert not verify_signature(req, "another-key")
    body = json.loads(req["body"])
    assert list(body) == CONTRACT_KEYS and body["event"] == "opened"
    assert req["headers"]["Content-Type"] == "application/json" and req["headers"]["X-Phiwatch-Event"] == "opened"
    assert req["headers"]["X-Phiwatch-Delivery"].startswith("hook:")


def test_webhook_configuration_errors(store, receiver, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    write(store, bucket("bucket-logging-off", logging=False))
    pol = policy(
        "notifications:\n"
        "  - {name: no-key, channel: webhook, target: 'https://hooks.example.org/x', secret_env: NO_SUCH_KEY}\n"
        "  - {name: plain-http, channel: webhook, target: 'http://hooks.example.org/x', secret_env: NO_SUCH_KEY}\n"
        "  - {name: unsigned, channel: webhook, target: 'https://hooks.example.org/x'}\n"
    )
    evaluate(store, pol)
    result = Dispatcher(store, pol, sleep=no_sleep()).dispatch()
    assert "environment variable NO_SUCH_KEY (secret_env) is not set" in result.route("no-key").errors[0]
    assert "must use https" in result.route("plain-http").errors[0]
    assert "set secret_env" in result.route("unsigned").errors[0]
    assert {r["status"] for r in outbox_rows(store)} == {"failed"}


def test_apprise_json_url_from_secret_file(store, receiver, tmp_path):
    pytest.importorskip("apprise")
    (tmp_path / "apprise.url").write_text(f"json://127.0.0.1:{receiver.server.server_port}/apprise-inbox\n")
    write(store, bucket("bucket-logging-off", logging=False))
    pol = policy("notifications:\n  - {name: pager, channel: apprise, secret_file: apprise.url}\n", base_dir=str(tmp_path))
    evaluate(store, pol)
    result = deliver(store, pol)
    assert result.sent == 1, result.summary()
    [got] = receiver.json("/apprise-inbox")
    assert got["title"] == "phiwatch: New finding (medium) s3-bucket-logging-enabled"
    assert "bucket-logging-off" in got["message"] and "164.312(b)" in got["message"]
    assert "apprise-inbox" not in result.route("pager").target  # the URL is a secret: only its scheme is shown


def test_apprise_missing_package_is_a_clear_error(store, monkeypatch, tmp_path):
    import sys

    (tmp_path / "apprise.url").write_text("json://127.0.0.1:9/x\n")
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if not installed
    pol = parse_policy("notifications:\n  - {name: pager, channel: apprise, secret_file: apprise.url}\n", "p.yaml", str(tmp_path))
    from phiwatch.notify.channels.base import channel_for

    with pytest.raises(ChannelConfigError, match=r"pip install 'phiwatch\[apprise\]'"):
        channel_for(pol.notifications[0], ChannelSettings(base_dir=str(tmp_path)))


def test_sns_unreachable_then_recovered(aws_env, store):
    from phiwatch.aws.session import AwsContext
    from phiwatch.emulator import free_port

    topic, queue = _subscribed_queue(aws_env)
    write(store, bucket("a-logging-off", logging=False), bucket("b-logging-off", logging=False))
    pol = policy(f"notifications:\n  - {{name: sns, channel: sns, target: '{topic}'}}\n")
    evaluate(store, pol)
    dead = AwsContext(endpoint_url=f"http://127.0.0.1:{free_port()}", session=aws_env.session)
    slept = []
    down = Dispatcher(store, pol, aws=dead, timeout=1, sleep=no_sleep(slept)).dispatch(now=T0)
    assert (down.sent, down.failed) == (0, 2) and "cannot reach SNS in us-east-1" in down.route("sns").errors[0]
    assert len(slept) == 2  # bounded: 3 attempts per run
    assert {r["status"] for r in outbox_rows(store)} == {"failed"}
    up = Dispatcher(store, pol, aws=aws_env.context()).dispatch(now=T0 + dt.timedelta(hours=1))
    assert up.sent == 2
    assert sorted(json.loads(e["Message"])["resource_id"] for e in _drain(aws_env.client("sqs"), queue, 2)) == [
        "a-logging-off",
        "b-logging-off",
    ]
