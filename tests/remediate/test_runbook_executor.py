"""The SSM Automation executor on small inline documents, end to end against moto's server.

Covers interpolation (typed and embedded), outputs and selectors, branches, assertions, waits
with a timeout, onFailure / isCritical, maxAttempts, max_seconds, dry runs (no write is sent:
counted with a before-send hook), validation errors that name the step and field (refused
before any call), parameters (missing, pattern, unknown), and the export of SSM documents.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml

from phiwatch.remediate import RunbookError, builtin, builtin_ids, execute, load_document
from phiwatch.remediate.export import create_document_command, write_ssm_documents
from phiwatch.runbooks.document import parse_path, select
from phiwatch.runbooks.scripts import SCRIPTS, script_source

pytestmark = pytest.mark.server

REGION = "us-east-1"


class Recorder:
    """Every HTTP request phiwatch's clients send, as (service, operation)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, **kwargs) -> None:
        parts = kwargs.get("event_name", "").split(".")
        self.sent.append((parts[1] if len(parts) > 1 else "?", parts[2] if len(parts) > 2 else "?"))

    @property
    def operations(self) -> list[str]:
        return [op for _, op in self.sent]


@pytest.fixture
def aws(aws_env):
    ctx = aws_env.context([REGION])
    recorder = Recorder()
    ctx.session.events.register("before-send", recorder)
    ctx.recorder = recorder
    return ctx


def doc(text: str, doc_id: str = "test-doc"):
    return load_document(textwrap.dedent(text), doc_id=doc_id)


VERSIONING = """
    schemaVersion: "0.3"
    description: enable versioning, with a read first
    parameters:
      Bucket:
        type: String
        allowedPattern: '^[a-z0-9.-]{3,63}$'
      Tags:
        type: StringList
        default: ["a", "b"]
    mainSteps:
      - name: Read
        action: aws:executeAwsApi
        inputs:
          Service: s3
          Api: GetBucketVersioning
          Bucket: "{{ Bucket }}"
        outputs:
          - Name: Status
            Selector: $.Status
            Type: String
      - name: Choose
        action: aws:branch
        inputs:
          Choices:
            - NextStep: Verify
              Variable: "{{ Read.Status }}"
              StringEquals: Enabled
          Default: Enable
      - name: Enable
        action: aws:executeAwsApi
        inputs:
          Service: s3
          Api: PutBucketVersioning
          Bucket: "{{ Bucket }}"
          VersioningConfiguration:
            Status: Enabled
      - name: Verify
        action: aws:assertAwsResourceProperty
        isEnd: true
        inputs:
          Service: s3
          Api: GetBucketVersioning
          Bucket: "{{ Bucket }}"
          PropertySelector: $.Status
          DesiredValues: [Enabled]
      - name: NeverReached
        action: aws:executeAwsApi
        inputs:
          Service: s3
          Api: DeleteBucket
          Bucket: "{{ Bucket }}"
"""


def test_branch_outputs_assert_and_idempotent_second_run(aws_env, aws):
    aws_env.client("s3").create_bucket(Bucket="phi-versioning")
    d = doc(VERSIONING)

    first = execute(d, {"Bucket": "phi-versioning"}, aws, REGION, dry_run=False)
    assert first.status == "Success", first.error
    assert [s.name for s in first.steps] == ["Read", "Choose", "Enable", "Verify"]
    assert first.steps[0].outputs == {}  # no Status yet: the selector matched nothing
    assert first.steps[1].outputs == {"NextStep": "Enable"}
    put = first.steps[2].calls[0]
    assert (put.service, put.api, put.params) == (
        "s3",
        "PutBucketVersioning",
        {"Bucket": "phi-versioning", "VersioningConfiguration": {"Status": "Enabled"}},
    )
    assert put.error is None and put.planned is False
    assert first.steps[3].message == "$.Status = Enabled"
    assert aws_env.client("s3").get_bucket_versioning(Bucket="phi-versioning")["Status"] == "Enabled"

    second = execute(d, {"Bucket": "phi-versioning"}, aws, REGION, dry_run=False)
    assert [s.name for s in second.steps] == ["Read", "Choose", "Verify"]
    assert second.steps[0].outputs == {"Status": "Enabled"}
    assert second.write_calls == []
    assert "DeleteBucket" not in aws.recorder.operations  # isEnd stopped the run
    assert second.to_dict()["steps"][0]["calls"][0]["response"]["Status"] == "Enabled"


def test_dry_run_sends_no_write_and_plans_interpolated_calls(aws_env, aws):
    aws_env.client("s3").create_bucket(Bucket="phi-plan")
    aws.recorder.sent.clear()
    plan = execute(doc(VERSIONING), {"Bucket": "phi-plan"}, aws, REGION, dry_run=True)
    assert plan.status == "DryRun" and plan.dry_run
    assert [(s.name, s.status) for s in plan.steps] == [
        ("Read", "Success"),
        ("Choose", "Success"),
        ("Enable", "DryRun"),
        ("Verify", "DryRun"),
    ]
    planned = plan.write_calls
    assert len(planned) == 1 and planned[0].planned and planned[0].response is None
    assert planned[0].params == {"Bucket": "phi-plan", "VersioningConfiguration": {"Status": "Enabled"}}
    # Only the read before the planned write was sent; nothing after it, no write at all.
    assert aws.recorder.operations == ["GetBucketVersioning"]
    assert "Status" not in aws_env.client("s3").get_bucket_versioning(Bucket="phi-plan")


def test_typed_and_embedded_interpolation_fitted_to_the_api(aws_env, aws):
    logs = aws_env.client("logs")
    logs.create_log_group(logGroupName="/phi/app")
    d = doc("""
        schemaVersion: "0.3"
        parameters:
          Group: {type: String}
          Days: {type: String, default: "30"}
          Names: {type: StringList, default: ["/phi/app"]}
        mainSteps:
          - name: SetRetention
            action: aws:executeAwsApi
            inputs:
              Service: logs
              Api: PutRetentionPolicy
              logGroupName: "{{ Group }}"
              retentionInDays: "{{ Days }}"
          - name: Tag
            action: aws:executeAwsApi
            inputs:
              Service: logs
              Api: TagLogGroup
              logGroupName: "{{ Group }}"
              tags:
                Note: "group {{ Group }} keeps {{ Days }} days in {{ global:REGION }} ({{ global:ACCOUNT_ID }})"
                Names: "{{ Names }}"
          - name: Read
            action: aws:executeAwsApi
            inputs:
              Service: logs
              Api: DescribeLogGroups
              logGroupNamePrefix: "{{ Group }}"
            outputs:
              - {Name: Retention, Selector: "$.logGroups[0].retentionInDays", Type: Integer}
              - {Name: AllNames, Selector: "$.logGroups[*].logGroupName", Type: StringList}
              - {Name: First, Selector: "$['logGroups'][0]", Type: StringMap}
    """)
    run = execute(d, {"Group": "/phi/app"}, aws, REGION, dry_run=False)
    assert run.status == "Success", run.error
    assert run.steps[0].calls[0].params == {"logGroupName": "/phi/app", "retentionInDays": 30}  # "30" -> 30
    tags = run.steps[1].calls[0].params["tags"]
    assert tags["Note"] == "group /phi/app keeps 30 days in us-east-1 (123456789012)"
    assert tags["Names"] == '["/phi/app"]'  # a list inside text: JSON
    outputs = run.steps[2].outputs
    assert outputs["Retention"] == 30 and outputs["AllNames"] == ["/phi/app"]
    assert outputs["First"]["logGroupName"] == "/phi/app"
    assert logs.list_tags_log_group(logGroupName="/phi/app")["tags"]["Note"].startswith("group /phi/app")


class FakeClock:
    """The executor's clock: sleeping advances it, AWS calls take no time, so polling is exact."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_wait_times_out_and_fails_the_run(aws_env, aws, monkeypatch):
    from phiwatch.remediate import executor as executor_module

    aws_env.client("s3").create_bucket(Bucket="phi-wait")
    d = doc("""
        schemaVersion: "0.3"
        mainSteps:
          - name: WaitForVersioning
            action: aws:waitForAwsResourceProperty
            timeoutSeconds: 1
            inputs:
              Service: s3
              Api: GetBucketVersioning
              Bucket: phi-wait
              PropertySelector: $.Status
              DesiredValues: [Enabled]
          - name: After
            action: aws:sleep
            inputs: {Duration: PT0S}
    """)
    clock = FakeClock()
    monkeypatch.setattr(executor_module, "time", clock)
    monkeypatch.setattr(executor_module, "_call_with_timeout", lambda fn, timeout: fn())  # calls take no (clock) time
    run = execute(d, {}, aws, REGION, dry_run=False)
    assert run.status == "Failed" and run.failed_step == "WaitForVersioning"
    assert run.steps[0].status == "TimedOut" and [s.name for s in run.steps] == ["WaitForVersioning"]
    assert "timed out" in run.error and "$.Status" in run.error
    # polled with backoff (0.2 s, then doubling), not hammered; the last pause ends at the timeout
    assert clock.sleeps == [0.2, 0.4, 0.4] and clock.now == pytest.approx(1.0)
    assert len(run.steps[0].calls) == 3


def test_wait_succeeds_when_the_property_arrives(aws_env, aws):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="phi-wait-ok")
    s3.put_bucket_versioning(Bucket="phi-wait-ok", VersioningConfiguration={"Status": "Enabled"})
    d = doc("""
        schemaVersion: "0.3"
        mainSteps:
          - name: WaitForVersioning
            action: aws:waitForAwsResourceProperty
            timeoutSeconds: 5
            inputs: {Service: s3, Api: GetBucketVersioning, Bucket: phi-wait-ok, PropertySelector: $.Status,
                     DesiredValues: [Suspended, Enabled]}
    """)
    run = execute(d, {}, aws, REGION, dry_run=False)
    assert run.status == "Success" and run.steps[0].outputs == {"PropertyValue": "Enabled"}


ON_FAILURE = """
    schemaVersion: "0.3"
    parameters:
      Bucket: {type: String}
      Mode: {type: String, allowedValues: [continue, jump, abort]}
    mainSteps:
      - name: Choose
        action: aws:branch
        inputs:
          Choices:
            - {NextStep: ReadPolicyContinue, Variable: "{{ Mode }}", StringEquals: continue}
            - {NextStep: ReadPolicyJump, Variable: "{{ Mode }}", StringEquals: jump}
          Default: ReadPolicyAbort
      - name: ReadPolicyContinue
        action: aws:executeAwsApi
        onFailure: Continue
        nextStep: Versioning
        inputs: {Service: s3, Api: GetBucketPolicy, Bucket: "{{ Bucket }}"}
      - name: ReadPolicyJump
        action: aws:executeAwsApi
        onFailure: step:Versioning
        isCritical: false
        inputs: {Service: s3, Api: GetBucketPolicy, Bucket: "{{ Bucket }}"}
      - name: ReadPolicyAbort
        action: aws:executeAwsApi
        inputs: {Service: s3, Api: GetBucketPolicy, Bucket: "{{ Bucket }}"}
      - name: Versioning
        action: aws:executeAwsApi
        inputs: {Service: s3, Api: PutBucketVersioning, Bucket: "{{ Bucket }}",
                 VersioningConfiguration: {Status: Enabled}}
"""


def test_on_failure_continue_jump_and_abort(aws_env, aws):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="phi-onfailure")
    d = doc(ON_FAILURE)

    cont = execute(d, {"Bucket": "phi-onfailure", "Mode": "continue"}, aws, REGION, dry_run=False)
    assert cont.status == "Success" and cont.failed_step is None  # Continue: not critical by default
    assert [(s.name, s.status) for s in cont.steps] == [("Choose", "Success"), ("ReadPolicyContinue", "Failed"), ("Versioning", "Success")]
    assert cont.steps[1].calls[0].error.startswith("NoSuchBucketPolicy")
    assert cont.steps[1].calls[0].error_code == "NoSuchBucketPolicy"

    jump = execute(d, {"Bucket": "phi-onfailure", "Mode": "jump"}, aws, REGION, dry_run=False)
    assert jump.status == "Success"
    assert [s.name for s in jump.steps] == ["Choose", "ReadPolicyJump", "Versioning"]

    s3.put_bucket_versioning(Bucket="phi-onfailure", VersioningConfiguration={"Status": "Suspended"})
    abort = execute(d, {"Bucket": "phi-onfailure", "Mode": "abort"}, aws, REGION, dry_run=False)
    assert abort.status == "Failed" and abort.failed_step == "ReadPolicyAbort"
    assert [s.name for s in abort.steps] == ["Choose", "ReadPolicyAbort"]  # no further steps
    assert "NoSuchBucketPolicy" in abort.error and "ReadPolicyAbort" in abort.error
    assert s3.get_bucket_versioning(Bucket="phi-onfailure")["Status"] == "Suspended"


def test_critical_step_failing_with_a_jump_fails_the_run(aws_env, aws):
    aws_env.client("s3").create_bucket(Bucket="phi-critical")
    d = doc("""
        schemaVersion: "0.3"
        mainSteps:
          - name: ReadPolicy
            action: aws:executeAwsApi
            onFailure: step:Done
            inputs: {Service: s3, Api: GetBucketPolicy, Bucket: phi-critical}
          - name: Skipped
            action: aws:executeAwsApi
            inputs: {Service: s3, Api: PutBucketVersioning, Bucket: phi-critical, VersioningConfiguration: {Status: Enabled}}
          - name: Done
            action: aws:sleep
            inputs: {Duration: PT0S}
    """)
    run = execute(d, {}, aws, REGION, dry_run=False)
    assert [s.name for s in run.steps] == ["ReadPolicy", "Done"]
    assert run.status == "Failed" and run.failed_step == "ReadPolicy"  # isCritical defaults to true


def test_max_attempts_retries_with_backoff_then_fails(aws, aws_env, monkeypatch):
    from phiwatch.remediate import executor as executor_module

    d = doc("""
        schemaVersion: "0.3"
        mainSteps:
          - name: ReadMissingBucket
            action: aws:executeAwsApi
            maxAttempts: 3
            inputs: {Service: s3, Api: GetBucketVersioning, Bucket: phi-does-not-exist}
          - name: NotRun
            action: aws:sleep
            inputs: {Duration: PT0S}
    """)
    clock = FakeClock()
    monkeypatch.setattr(executor_module, "time", clock)
    monkeypatch.setattr(executor_module, "_call_with_timeout", lambda fn, timeout: fn())  # calls take no (clock) time
    run = execute(d, {}, aws, REGION, dry_run=False)
    step = run.steps[0]
    assert run.status == "Failed" and run.failed_step == "ReadMissingBucket" and len(run.steps) == 1
    assert step.attempts == 3 and len(step.calls) == 3
    assert all(c.error_code == "NoSuchBucket" for c in step.calls)
    assert clock.sleeps == [0.5, 1.0]  # backoff between the attempts


def test_max_seconds_bounds_the_run(aws, monkeypatch):
    from phiwatch.remediate import executor as executor_module

    d = doc("""
        schemaVersion: "0.3"
        mainSteps:
          - name: LongSleep
            action: aws:sleep
            maxAttempts: 3
            inputs: {Duration: PT30S}
    """)
    clock = FakeClock()
    monkeypatch.setattr(executor_module, "time", clock)
    monkeypatch.setattr(executor_module, "_call_with_timeout", lambda fn, timeout: fn())  # calls take no (clock) time
    run = execute(d, {}, aws, REGION, dry_run=False, max_seconds=0.5)
    assert clock.now == pytest.approx(0.5)  # the 30 s sleep, and its retries, end at the run's bound
    assert run.status == "Failed" and run.steps[0].status == "TimedOut"


def test_api_error_mid_runbook_stops_with_the_failed_step(aws_env, aws):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="phi-first")
    d = doc("""
        schemaVersion: "0.3"
        parameters:
          Good: {type: String}
          Gone: {type: String}
        mainSteps:
          - name: FixFirst
            action: aws:executeAwsApi
            inputs: {Service: s3, Api: PutBucketVersioning, Bucket: "{{ Good }}", VersioningConfiguration: {Status: Enabled}}
          - name: FixDeleted
            action: aws:executeAwsApi
            inputs: {Service: s3, Api: PutBucketVersioning, Bucket: "{{ Gone }}", VersioningConfiguration: {Status: Enabled}}
          - name: Third
            action: aws:executeAwsApi
            inputs: {Service: s3, Api: PutBucketTagging, Bucket: "{{ Good }}", Tagging: {TagSet: [{Key: k, Value: v}]}}
    """)
    run = execute(d, {"Good": "phi-first", "Gone": "phi-deleted-before-the-run"}, aws, REGION, dry_run=False)
    assert run.status == "Failed" and run.failed_step == "FixDeleted"
    assert [(s.name, s.status) for s in run.steps] == [("FixFirst", "Success"), ("FixDeleted", "Failed")]
    assert run.steps[1].calls[0].error_code == "NoSuchBucket"
    assert "PutBucketTagging" not in aws.recorder.operations


def test_dry_run_plan_stops_at_a_branch_on_a_planned_output(aws):
    d = doc("""
        schemaVersion: "0.3"
        mainSteps:
          - name: CreateGroup
            action: aws:executeAwsApi
            inputs: {Service: ec2, Api: CreateSecurityGroup, GroupName: planned, Description: planned}
            outputs:
              - {Name: GroupId, Selector: $.GroupId}
          - name: Tag
            action: aws:executeAwsApi
            inputs: {Service: ec2, Api: CreateTags, Resources: ["{{ CreateGroup.GroupId }}"], Tags: [{Key: a, Value: b}]}
          - name: Choose
            action: aws:branch
            inputs:
              Choices:
                - {NextStep: Tag, Variable: "{{ CreateGroup.GroupId }}", StartsWith: sg-}
    """)
    plan = execute(d, {}, aws, REGION, dry_run=True)
    assert plan.status == "DryRun"
    assert [(s.name, s.status) for s in plan.steps] == [("CreateGroup", "DryRun"), ("Tag", "DryRun"), ("Choose", "Skipped")]
    assert plan.steps[1].calls[0].params["Resources"] == ["{{ CreateGroup.GroupId }}"]  # known only after the change
    assert "plan stops" in plan.steps[2].message
    assert aws.recorder.sent == []


# ----------------------------------------------------------------------------- validation


def _assert_refused(text: str, *fragments: str) -> None:
    with pytest.raises(RunbookError) as info:
        doc(text)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


BASE_STEP = """
      - name: Read
        action: aws:executeAwsApi
        inputs: {Service: s3, Api: GetBucketVersioning, Bucket: b}
"""


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("mainSteps:\n" + BASE_STEP + BASE_STEP, ("step 'Read' field 'name'", "not unique")),
        (
            "mainSteps:\n" + BASE_STEP.replace("inputs:", "nextStep: Nowhere\n        inputs:"),
            ("step 'Read' field 'nextStep'", "'Nowhere' is not a step"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace("inputs:", "onFailure: step:Nope\n        inputs:"),
            ("step 'Read' field 'onFailure'", "'Nope'"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace("inputs:", "onFailure: Retry\n        inputs:"),
            ("step 'Read' field 'onFailure'", "Abort, Continue or step:"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace("Bucket: b", "Bucket: '{{ Missing }}'"),
            ("step 'Read' field 'inputs.Bucket'", "{{ Missing }} is not a declared parameter"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace("Bucket: b", "Bucket: '{{ Later.Out }}'"),
            ("step 'Read' field 'inputs.Bucket'", "{{ Later.Out }} is not an output of an earlier step"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace("GetBucketVersioning", "GetBucketVersion"),
            ("step 'Read' field 'inputs.Api'", "s3 has no API 'GetBucketVersion'"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace("Service: s3", "Service: notaservice"),
            ("step 'Read' field 'inputs.Service'", "'notaservice'"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace("Bucket: b", "Bucket: b, Buckt: c"),
            ("step 'Read' field 'inputs.Buckt'", "not a parameter of s3:GetBucketVersioning"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace(", Bucket: b", ""),
            ("step 'Read' field 'inputs.Bucket'", "required by s3:GetBucketVersioning"),
        ),
        ("mainSteps:\n" + BASE_STEP.replace("inputs:", "maxAttempts: 1000\n        inputs:"), ("step 'Read' field 'maxAttempts'",)),
        (
            "mainSteps:\n" + BASE_STEP.replace("inputs:", "onFaliure: Abort\n        inputs:"),
            ("step 'Read' field 'onFaliure'", "not a supported step field"),
        ),
        (
            "mainSteps:\n"
            + BASE_STEP
            + """
      - name: Run
        action: aws:runCommand
        inputs: {DocumentName: AWS-RunShellScript, InstanceIds: [i-1], Parameters: {commands: [reboot]}}
""",
            ("step 'Run' field 'action'", "'aws:runCommand' is not supported"),
        ),
        (
            "mainSteps:\n"
            + BASE_STEP
            + """
      - name: Choose
        action: aws:branch
        inputs:
          Choices:
            - {NextStep: Read, Variable: "{{ Read.Status }}", StringEquals: x, NumericEquals: 1}
""",
            ("step 'Choose' field 'inputs.Choices[0]'", "exactly one operator"),
        ),
        (
            "mainSteps:\n"
            + """
      - name: Nap
        action: aws:sleep
        inputs: {Duration: 10 minutes}
""",
            ("step 'Nap' field 'inputs.Duration'", "ISO 8601"),
        ),
        (
            "mainSteps:\n"
            + """
      - name: Check
        action: aws:assertAwsResourceProperty
        inputs: {Service: s3, Api: PutBucketVersioning, Bucket: b, VersioningConfiguration: {Status: Enabled},
                 PropertySelector: $.Status, DesiredValues: [Enabled]}
""",
            ("step 'Check' field 'inputs.Api'", "must read"),
        ),
        (
            "mainSteps:\n" + BASE_STEP.replace("inputs:", "outputs: [{Name: S, Selector: 'Status'}]\n        inputs:"),
            ("step 'Read' field 'outputs[0].Selector'", "must start with '$'"),
        ),
        ("parameters:\n  P: {type: Strnig}\nmainSteps:\n" + BASE_STEP, ("parameter 'P' field 'type'", "'Strnig'")),
        (
            "parameters:\n  P: {type: String, default: ab, allowedPattern: '^x+$'}\nmainSteps:\n" + BASE_STEP,
            ("parameter 'P' field 'default'", "does not match allowedPattern"),
        ),
        ("files: {}\nmainSteps:\n" + BASE_STEP, ("field 'files'", "attachments are not supported")),
    ],
)
def test_validation_errors_name_the_step_and_field(body, fragments):
    _assert_refused('schemaVersion: "0.3"\n' + body, *fragments)


def test_malformed_documents_are_refused():
    for text, fragment in [
        ("schemaVersion: '0.3'\nmainSteps: [\n", "not valid YAML or JSON"),
        ("schemaVersion: '2.2'\nmainSteps:\n" + BASE_STEP, "schemaVersion"),
        ("schemaVersion: '0.3'\nmainSteps: []\n", "mainSteps"),
        ('{"schemaVersion": "0.3", "mainSteps": [{"name": "A", "action": "aws:sleep"}]}', "step 'A' field 'inputs'"),
    ]:
        with pytest.raises(RunbookError, match="test-doc") as info:
            doc(text)
        assert fragment in str(info.value)


def test_unsupported_action_is_refused_before_any_call(aws):
    with pytest.raises(RunbookError, match="aws:invokeLambdaFunction"):
        doc("""
            schemaVersion: "0.3"
            mainSteps:
              - name: Write
                action: aws:executeAwsApi
                inputs: {Service: s3, Api: PutBucketVersioning, Bucket: b, VersioningConfiguration: {Status: Enabled}}
              - name: Invoke
                action: aws:invokeLambdaFunction
                inputs: {FunctionName: fix-it}
        """)
    assert aws.recorder.sent == []


def test_scripts_other_than_the_vetted_ones_are_refused():
    source = script_source("select_open_ingress")
    step = {
        "name": "Pick",
        "action": "aws:executeScript",
        "inputs": {"Runtime": "python3.11", "Handler": "select_open_ingress", "Script": source, "InputPayload": {"IpPermissions": []}},
        "outputs": [{"Name": "Count", "Selector": "$.Payload.Count", "Type": "Integer"}],
    }
    ok = load_document({"schemaVersion": "0.3", "mainSteps": [step]})
    assert ok.iam_actions() == []
    tampered = json.loads(json.dumps(step))
    tampered["inputs"]["Script"] = source.replace("return {", "import os; os.system('id')\n    return {", 1)
    with pytest.raises(RunbookError, match=r"step 'Pick' field 'inputs.Script'.*never runs other script text"):
        load_document({"schemaVersion": "0.3", "mainSteps": [tampered]})
    other = json.loads(json.dumps(step))
    other["inputs"]["Handler"] = "script_handler"
    with pytest.raises(RunbookError, match=r"field 'inputs.Handler'.*not a vetted phiwatch script"):
        load_document({"schemaVersion": "0.3", "mainSteps": [other]})
    attached = json.loads(json.dumps(step))
    attached["inputs"]["Attachment"] = "fix.zip"
    with pytest.raises(RunbookError, match=r"field 'inputs.Attachment'.*attachments are not supported"):
        load_document({"schemaVersion": "0.3", "mainSteps": [attached]})


def test_script_step_runs_the_vetted_handler(aws):
    step = {
        "name": "Pick",
        "action": "aws:executeScript",
        "inputs": {
            "Runtime": "python3.11",
            "Handler": "select_open_ingress",
            "Script": script_source("select_open_ingress"),
            "InputPayload": {
                "Ports": "{{ Ports }}",
                "IpPermissions": [
                    {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 1000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
                    {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                ],
            },
        },
        "outputs": [
            {"Name": "Count", "Selector": "$.Payload.Count", "Type": "Integer"},
            {"Name": "Rules", "Selector": "$.Payload.IpPermissions", "Type": "MapList"},
        ],
    }
    d = load_document({"schemaVersion": "0.3", "parameters": {"Ports": {"type": "StringList"}}, "mainSteps": [step]})
    run = execute(d, {"Ports": "22, 3389"}, aws, REGION, dry_run=False)  # comma-separated StringList
    assert run.status == "Success", run.error
    assert run.steps[0].outputs["Count"] == 1
    assert run.steps[0].outputs["Rules"] == [{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 1000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    assert aws.recorder.sent == []  # a pure script: no AWS call


# ----------------------------------------------------------------------------- parameters


def test_parameters_missing_pattern_unknown_and_types(aws):
    d = doc(VERSIONING)
    with pytest.raises(RunbookError, match=r"parameter 'Bucket': required \(String\) and not given"):
        execute(d, {}, aws, REGION, dry_run=False)
    with pytest.raises(RunbookError, match=r"parameter 'Bucket': 'Bad_Bucket!' does not match allowedPattern"):
        execute(d, {"Bucket": "Bad_Bucket!"}, aws, REGION, dry_run=True)
    with pytest.raises(RunbookError, match=r"parameter 'Buckett': not declared by the runbook"):
        execute(d, {"Bucket": "ok-bucket", "Buckett": "x"}, aws, REGION, dry_run=True)
    with pytest.raises(RunbookError, match=r"parameter 'Tags': expects a StringList"):
        execute(d, {"Bucket": "ok-bucket", "Tags": {"a": 1}}, aws, REGION, dry_run=True)
    assert aws.recorder.sent == []
    assert d.bind({"Bucket": "ok-bucket", "Tags": "x, y"}) == {"Bucket": "ok-bucket", "Tags": ["x", "y"]}
    typed = doc("""
        schemaVersion: "0.3"
        parameters:
          N: {type: Integer, default: 3}
          B: {type: Boolean, default: false}
          M: {type: StringMap, default: {}}
          L: {type: MapList, default: []}
          V: {type: String, default: b, allowedValues: [a, b]}
        mainSteps:
          - {name: Nap, action: aws:sleep, inputs: {Duration: PT0S}}
    """)
    assert typed.bind({"N": "14", "B": "True", "M": '{"k": "v"}', "L": [{"a": 1}]}) == {
        "N": 14,
        "B": True,
        "M": {"k": "v"},
        "L": [{"a": 1}],
        "V": "b",
    }
    with pytest.raises(RunbookError, match=r"parameter 'N': expects a Integer"):
        typed.bind({"N": "fourteen"})
    with pytest.raises(RunbookError, match=r"parameter 'V': 'c' is not one of the allowedValues"):
        typed.bind({"V": "c"})


def test_json_path_subset():
    data = {"a": {"b": [{"c": 1}, {"c": 2, "d": True}]}, "x y": 3}
    assert select(data, parse_path("$.a.b[1].c")) == 2
    assert select(data, parse_path("$.a.b[-1]['d']")) is True
    assert select(data, parse_path("$['x y']")) == 3
    assert select(data, parse_path("$.a.b[*].c")) == [1, 2]
    assert select(data, parse_path("$.a.b[*].d")) == [True]
    assert select(data, parse_path("$.a.b[5].c")).__class__.__name__ == "_Missing"
    assert select(data, parse_path("$")) == data
    with pytest.raises(ValueError):
        parse_path("$.a[?(@.c==1)]")


# ----------------------------------------------------------------------------- built-ins and export


def test_builtin_runbooks_validate_and_declare_their_iam_actions():
    ids = builtin_ids()
    assert len(ids) == 19 and all(i.startswith("phiwatch-") for i in ids)
    for runbook_id in ids:
        d = builtin(runbook_id)
        assert d.parameters["ResourceId"].required, runbook_id
        assert d.assume_role == "{{ AutomationAssumeRole }}"
        assert d.iam_actions(), runbook_id
    assert builtin("phiwatch-EnableS3BucketEncryption").iam_actions() == ["s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"]
    assert builtin("phiwatch-BlockS3AccountPublicAccess").iam_actions() == [
        "s3:GetAccountPublicAccessBlock",
        "s3:PutAccountPublicAccessBlock",
    ]
    assert "iam:PassRole" in builtin("phiwatch-EnableVpcFlowLogs").iam_actions()
    assert builtin("phiwatch-RestrictS3BucketToTLS").iam_actions() == ["s3:GetBucketPolicy", "s3:PutBucketPolicy"]
    with pytest.raises(RunbookError, match="unknown runbook 'phiwatch-Nope'"):
        builtin("phiwatch-Nope")


def test_export_writes_deployable_ssm_documents(tmp_path):
    paths = write_ssm_documents(tmp_path / "ssm")
    assert sorted(p.name for p in paths) == sorted(f"{i}.yaml" for i in builtin_ids())
    for path in paths:
        content = yaml.safe_load(path.read_text())
        assert content["schemaVersion"] == "0.3" and content["mainSteps"]
        load_document(path)  # still valid, scripts still the vetted ones
    tls = yaml.safe_load((tmp_path / "ssm" / "phiwatch-RestrictS3BucketToTLS.yaml").read_text())
    script = tls["mainSteps"][0]["inputs"]
    assert script["Handler"] == "tls_only_policy" and script["Runtime"] == "python3.11"
    assert script["Script"].strip() == script_source("tls_only_policy").strip()
    json_paths = write_ssm_documents(tmp_path / "json", ids=["phiwatch-EnableKmsKeyRotation"], document_format="json")
    assert json.loads(json_paths[0].read_text())["schemaVersion"] == "0.3"
    command = create_document_command(paths[0])
    assert command.startswith("aws ssm create-document --name phiwatch-") and "--document-type Automation" in command
    assert "--document-format YAML --content file://" in command
    with pytest.raises(RunbookError):
        write_ssm_documents(tmp_path / "x", ids=["phiwatch-Nope"])
    assert set(SCRIPTS) == {"tls_only_policy", "select_open_ingress", "select_old_access_keys", "stricter_password_policy"}
