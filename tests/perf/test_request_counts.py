"""The requests a full collection of the demo estate sends, per (service, operation), equal the committed
snapshot (``request_counts.json``), and no call is made twice with the same parameters on the same resource.

A request more or fewer is a change in what phiwatch asks of AWS (its cost, its time under latency,
its exposure to throttling): regenerate the snapshot on purpose with ``tests/perf/snapshot.py`` and
say why in the commit. The counts are every HTTP request the AwsContext's clients sent (retries
included; the collection must need none), so they do not depend on how requests are scheduled.
"""

from __future__ import annotations

from counting import REGENERATE, REPEATS_ALLOWED, SNAPSHOT, Call, CallLog, count_diff, load_snapshot, measure

from phiwatch.aws.session import AwsContext


def test_a_full_collection_sends_the_snapshot_requests_once_each(emulator, tmp_path):
    emulator.reset()
    measured = measure(emulator, f"sqlite:///{tmp_path / 'counts.db'}")

    assert measured.result.errors == [], "the demo estate collects without errors: the counts below would not be the estate's"
    assert measured.retries["retries"] == 0 and measured.retries["give_ups"] == 0, (
        f"the emulator answered errors that were retried, so the counts vary: {measured.retries['apis']}"
    )
    problems = []
    expected = load_snapshot()
    diff = count_diff(expected["requests"], measured.requests)
    if diff:
        problems.append(
            f"requests per operation differ from {SNAPSHOT.name} (snapshot -> now; total {expected['total']} -> {measured.total}):\n"
            + "\n".join(diff)
            + f"\nIf the change is intended, regenerate the snapshot with `{REGENERATE}` and say why in the commit."
        )
    repeated = measured.log.repeated()
    if repeated:
        problems.append(
            "calls made more than once with the same parameters on the same resource (allowed only: "
            + ", ".join(f"{s} {o}: {why}" for (s, o), why in REPEATS_ALLOWED.items())
            + "):\n"
            + "\n".join(f"  {n}x {c.service} {c.operation} in {c.region}: {c.params}" for c, n in sorted(repeated.items(), key=str))
        )
    assert not problems, "\n\n".join(problems)
    # the allowed repeat is really made (else the exception is stale and must go)
    assert {(c.service, c.operation) for c, n in measured.log.calls.items() if n > 1} == set(REPEATS_ALLOWED)


def test_calls_repeated_on_one_resource_are_found_and_every_request_is_counted_by_operation(aws_env):
    log = CallLog()
    session = aws_env.emu.session("us-east-1")
    session.events.register("before-parameter-build", log.hook)
    aws = AwsContext(endpoint_url=aws_env.endpoint, regions=["us-east-1", "us-west-2"], session=session)
    for region in ("us-east-1", "us-west-2"):
        aws.client("kms", region).list_keys()  # once in each region: two resources
        aws.client("iam", region).list_users()  # IAM is global: the same listing twice
    aws.client("kms", "us-east-1").list_aliases(Limit=10)
    aws.client("kms", "us-east-1").list_aliases(Limit=20)  # other parameters: another call

    assert log.repeated() == {Call("iam", "ListUsers", "global", "{}"): 2}
    assert aws.counter.per_operation() == {("kms", "ListKeys"): 2, ("iam", "ListUsers"): 2, ("kms", "ListAliases"): 2}
    assert aws.counter.per_service() == {"kms": 4, "iam": 2}
    assert aws.counter.total == 6
