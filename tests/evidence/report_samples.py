"""Sample HIPAA reports for the renderers' tests, built by hand (no store, no catalogue).

``sample_report()`` has all five parts of the Security Rule, specifications in every status and
every kind of evidence, long ARNs, and hostile text (HTML, Markdown pipes, newlines) in the
fields a user or AWS controls, to prove each renderer escapes them. ``point_in_time_report()``
is the same estate seen at one instant (no trend).
"""

from __future__ import annotations

import datetime as dt

from phiwatch.evidence.model import (
    ATTESTATION_NEEDED,
    ATTESTED,
    COMPLIANT,
    COULD_NOT_CHECK,
    COVERED_BY_AWS,
    EXCEPTED,
    FAILING,
    NOT_EVALUATED,
    STATUS_ORDER,
    Attestation,
    Day,
    ExceptionEntry,
    Failing,
    Part,
    Period,
    RemediationEntry,
    Report,
    ResourceRef,
    RuleStatus,
    Scope,
    Specification,
    Standard,
    Summary,
    worst,
)

HOSTILE = "<script>alert(1)</script>"
PIPE = "a | b | c"
END = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=dt.UTC)
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
ACCOUNT = "123456789012"
ACCOUNT2 = "210987654321"
LONG_ARN = (
    "arn:aws:rds:us-east-1:123456789012:db:prod-claims-processing-aurora-postgresql-cluster-instance-writer-00000000000000000000000001"
)


def ref(resource_type: str, resource_id: str, name: str | None = None, account: str = ACCOUNT, region: str = "us-east-1") -> ResourceRef:
    return ResourceRef(resource_type=resource_type, resource_id=resource_id, account_id=account, region=region, name=name)


BUCKET = ref("AWS::S3::Bucket", "patient-****-exports", "patient-****-exports", region="us-east-2")
DB = ref("AWS::RDS::DBInstance", LONG_ARN, "prod-claims-processing")
TRAIL = ref("AWS::CloudTrail::Trail", "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail", "org-trail")
ROLE = ref("AWS::IAM::Role", "AROAEXAMPLEROLEID0001", f"ops-{HOSTILE}", account=ACCOUNT2, region="global")
USER = ref("AWS::IAM::User", "AIDAEXAMPLEUSERID0001", "j.****", account=ACCOUNT2, region="global")
VOLUME = ref("AWS::EC2::Volume", "vol-0abc1234def567890", None)
KEY = ref("AWS::KMS::Key", "mrk-1234abcd12ab34cd56ef1234567890ab", None)
LB = ref(
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/portal/50dc6c495c0c9188",
)


def rule(
    rule_id: str,
    description: str,
    status: str,
    compliant: int = 0,
    non_compliant: int = 0,
    excepted: int = 0,
    could_not_check: int = 0,
    severity: str = "high",
) -> RuleStatus:
    return RuleStatus(
        rule_id=rule_id,
        description=description,
        severity=severity,
        status=status,
        compliant=compliant,
        non_compliant=non_compliant,
        excepted=excepted,
        could_not_check=could_not_check,
        sections_source="AWS Config Operational Best Practices for HIPAA Security",
    )


def failing(rule_id: str, resource: ResourceRef, reason: str, days_open: float, severity: str = "high") -> Failing:
    return Failing(rule_id=rule_id, resource=resource, severity=severity, reason=reason, opened_at=END - dt.timedelta(days=days_open))


def attestation(
    section: str,
    by: str,
    statement: str,
    *,
    valid: bool = True,
    evidence: str | None = "risk-analysis-2026.pdf",
    expires: dt.date | None = dt.date(2027, 6, 30),
) -> Attestation:
    return Attestation(
        attestation_id=f"att-{section}",
        section=section,
        by=by,
        statement=statement,
        attested_at=dt.datetime(2026, 11, 12, 15, 30, tzinfo=dt.UTC),
        expires=expires,
        evidence_name=evidence,
        evidence_sha256=("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" if evidence else None),
        key_fingerprint="SHA256:3q2+7wEXAMPLEfingerprintq2+7w",
        signature_valid=valid,
    )


def spec(
    citation: str,
    title: str,
    evidence: str,
    *,
    required: bool = True,
    explanation: str = "",
    rules: tuple[RuleStatus, ...] = (),
    status: str | None = None,
    **evidence_fields: tuple,
) -> Specification:
    attestations = evidence_fields.get("attestations", ())
    if status is None:
        if evidence == "aws-shared":
            status = COVERED_BY_AWS
        elif evidence == "attestation":
            status = ATTESTED if attestations else ATTESTATION_NEEDED
        else:
            status = worst([r.status for r in rules])
    return Specification(
        citation=citation,
        title=title,
        required=required,
        explanation=explanation or f"The covered entity must address {title.lower()}.",
        evidence=evidence,
        status=status,
        rules=rules,
        **evidence_fields,
    )


def standard(citation: str, title: str, *specifications: Specification, explanation: str = "") -> Standard:
    return Standard(
        citation=citation,
        title=title,
        explanation=explanation or f"Standard: {title}.",
        status=worst([s.status for s in specifications]),
        specifications=specifications,
    )


def part(citation: str, title: str, *standards: Standard) -> Part:
    return Part(citation=citation, title=title, status=worst([s.status for s in standards]), standards=standards)


def _parts() -> tuple[Part, ...]:
    administrative = part(
        "164.308",
        "Administrative safeguards",
        standard(
            "164.308(a)(1)",
            "Security management process",
            spec(
                "164.308(a)(1)(ii)(A)",
                "Risk analysis",
                "attestation",
                explanation="Conduct an accurate and thorough assessment of the potential risks and vulnerabilities to ePHI.",
                attestations=(
                    attestation(
                        "164.308(a)(1)(ii)(A)",
                        "Dana Security Officer",
                        "Annual risk analysis completed.\nFindings tracked in the risk register | board approved.",
                    ),
                ),
            ),
            spec(
                "164.308(a)(1)(ii)(B)",
                "Risk management",
                "attestation",
                explanation="Implement security measures sufficient to reduce risks to a reasonable level.",
            ),
            spec(
                "164.308(a)(1)(ii)(D)",
                "Information system activity review",
                "aws-data",
                explanation="Regularly review records of information system activity, such as audit logs and access reports.",
                rules=(
                    rule("cloudtrail-enabled", "A multi-Region CloudTrail trail records management events", COMPLIANT, compliant=2),
                    rule(
                        "guardduty-enabled-centralized",
                        "GuardDuty is enabled in every Region in scope",
                        FAILING,
                        compliant=3,
                        non_compliant=1,
                        severity="medium",
                    ),
                    rule("securityhub-enabled", "Security Hub is enabled", COULD_NOT_CHECK, could_not_check=1, severity="medium"),
                ),
                failing=(
                    failing(
                        "guardduty-enabled-centralized",
                        ref("AWS::GuardDuty::Detector", "Region us-west-2", None, region="us-west-2"),
                        "No GuardDuty detector in us-west-2",
                        9,
                        "medium",
                    ),
                ),
                remediations=(
                    RemediationEntry(
                        remediation_id="rem-0007",
                        rule_id="cloudtrail-enabled",
                        runbook_id="AWS-EnableCloudTrail",
                        resource=TRAIL,
                        mode="approved",
                        status="applied",
                        finished_at=dt.datetime(2026, 11, 4, 10, 2, tzinfo=dt.UTC),
                        approved_by="ops-lead@example.com",
                    ),
                ),
            ),
        ),
        standard(
            "164.308(a)(3)",
            "Workforce security",
            spec(
                "164.308(a)(3)(ii)(B)",
                "Workforce clearance procedure",
                "aws-data",
                required=False,
                rules=(
                    rule(
                        "iam-user-unused-credentials-check",
                        "IAM users' credentials are used within 90 days",
                        EXCEPTED,
                        compliant=11,
                        excepted=1,
                        severity="medium",
                    ),
                    rule("iam-no-inline-policy-check", "IAM identities have no inline policies", COMPLIANT, compliant=14, severity="low"),
                ),
                exceptions=(
                    ExceptionEntry(
                        rule_id="iam-user-unused-credentials-check",
                        resource=USER,
                        owner="it-identity@example.com",
                        justification=f"Break-glass account, reviewed quarterly {PIPE}\nsecond line {HOSTILE}",
                        expires=dt.date(2027, 1, 31),
                    ),
                ),
            ),
            spec(
                "164.308(a)(3)(ii)(C)",
                "Termination procedures",
                "aws-data",
                required=False,
                rules=(rule("iam-user-mfa-enabled", "Console users have MFA", NOT_EVALUATED),),
            ),
        ),
        standard(
            "164.308(a)(5)",
            "Security awareness and training",
            spec(
                "164.308(a)(5)(ii)(B)",
                "Protection from malicious software",
                "aws-data",
                required=False,
                rules=(
                    rule(
                        "ec2-managedinstance-association-compliance-status-check",
                        "Managed instances' State Manager associations are compliant",
                        COULD_NOT_CHECK,
                        compliant=4,
                        could_not_check=2,
                        severity="medium",
                    ),
                ),
                failing=(),
            ),
            spec(
                "164.308(a)(5)(ii)(D)",
                "Password management",
                "aws-data",
                required=False,
                rules=(
                    rule(
                        "iam-password-policy",
                        "The account password policy meets the policy's minimums",
                        FAILING,
                        non_compliant=1,
                        compliant=1,
                    ),
                ),
                failing=(
                    failing(
                        "iam-password-policy",
                        ref("AWS::::Account", ACCOUNT2, None, account=ACCOUNT2, region="global"),
                        "MinimumPasswordLength is 8, the policy requires 14 | RequireSymbols is false",
                        21.5,
                    ),
                ),
            ),
        ),
        standard(
            "164.308(a)(7)",
            "Contingency plan",
            spec(
                "164.308(a)(7)(ii)(A)",
                "Data backup plan",
                "aws-data",
                rules=(
                    rule("db-instance-backup-enabled", "RDS instances keep automated backups", FAILING, compliant=6, non_compliant=1),
                    rule("dynamodb-pitr-enabled", "DynamoDB tables have point-in-time recovery", COMPLIANT, compliant=3),
                ),
                failing=(
                    failing("db-instance-backup-enabled", DB, "BackupRetentionPeriod is 0: automated backups are off", 2.25, "critical"),
                ),
            ),
            spec("164.308(a)(7)(ii)(B)", "Disaster recovery plan", "attestation"),
            spec("164.308(a)(7)(ii)(D)", "Testing and revision procedures", "attestation", required=False),
        ),
        standard(
            "164.308(b)(1)",
            "Business associate contracts and other arrangement",
            spec(
                "164.308(b)(1)",
                "Business associate contracts and other arrangement",
                "attestation",
                attestations=(
                    attestation(
                        "164.308(b)(1)",
                        "Legal <counsel> & Co",
                        f"BAA with AWS accepted in AWS Artifact {HOSTILE}",
                        valid=False,
                        evidence="baa-aws.pdf",
                    ),
                ),
                status=ATTESTED,
            ),
        ),
    )
    physical = part(
        "164.310",
        "Physical safeguards",
        standard(
            "164.310(a)(1)",
            "Facility access controls",
            spec(
                "164.310(a)(1)",
                "Facility access controls",
                "aws-shared",
                explanation="Limit physical access to electronic information systems and the facilities in which they are housed.",
            ),
        ),
        standard(
            "164.310(d)(1)",
            "Device and media controls",
            spec("164.310(d)(2)(i)", "Disposal", "aws-shared"),
            spec(
                "164.310(d)(2)(iv)",
                "Data backup and storage",
                "aws-data",
                required=False,
                rules=(rule("ebs-in-backup-plan", "EBS volumes are in an AWS Backup plan", COMPLIANT, compliant=12),),
            ),
        ),
    )
    technical = part(
        "164.312",
        "Technical safeguards",
        standard(
            "164.312(a)(1)",
            "Access control",
            spec(
                "164.312(a)(2)(i)",
                "Unique user identification",
                "aws-data",
                rules=(rule("iam-root-access-key-check", "The root user has no access keys", COMPLIANT, compliant=2, severity="critical"),),
            ),
            spec(
                "164.312(a)(2)(iv)",
                "Encryption and decryption",
                "aws-data",
                required=False,
                rules=(
                    rule(
                        "s3-default-encryption-kms",
                        "S3 buckets encrypt with KMS by default",
                        FAILING,
                        compliant=40,
                        non_compliant=2,
                        excepted=1,
                    ),
                    rule("encrypted-volumes", "Attached EBS volumes are encrypted", FAILING, compliant=25, non_compliant=1),
                    rule("rds-storage-encrypted", "RDS storage is encrypted", COMPLIANT, compliant=7),
                ),
                failing=(
                    failing("s3-default-encryption-kms", BUCKET, f"Default encryption is SSE-S3, not SSE-KMS {HOSTILE}", 14, "high"),
                    failing(
                        "s3-default-encryption-kms",
                        ref("AWS::S3::Bucket", "claims-****-raw-landing-zone-bucket-with-a-very-long-name-0001", None),
                        "No default encryption configuration",
                        0.5,
                        "high",
                    ),
                    failing(
                        "encrypted-volumes",
                        VOLUME,
                        "Volume vol-0abc1234def567890 attached to i-0123456789abcdef0 is not encrypted\nCreated from an unencrypted snapshot",
                        30,
                        "high",
                    ),
                ),
                exceptions=(
                    ExceptionEntry(
                        rule_id="s3-default-encryption-kms",
                        resource=ref("AWS::S3::Bucket", "public-website-assets", "public-website-assets"),
                        owner="web-team@example.com",
                        justification="Static public assets only, no ePHI",
                        expires=dt.date(2026, 11, 15),  # expired before the period's end
                    ),
                ),
                remediations=(
                    RemediationEntry(
                        remediation_id="rem-0012",
                        rule_id="encrypted-volumes",
                        runbook_id="AWSSupport-CopyEC2Instance",
                        resource=VOLUME,
                        mode="dry-run",
                        status="planned",
                        finished_at=None,
                        approved_by=None,
                    ),
                    RemediationEntry(
                        remediation_id="rem-0013",
                        rule_id="s3-default-encryption-kms",
                        runbook_id="AWS-EnableS3BucketEncryption",
                        resource=ref("AWS::S3::Bucket", "billing-****-archive", None, region="us-east-2"),
                        mode="auto",
                        status="applied",
                        finished_at=dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC),
                        approved_by=None,
                    ),
                ),
            ),
            spec(
                "164.312(a)(2)(ii)",
                "Emergency access procedure",
                "attestation",
                attestations=(
                    attestation(
                        "164.312(a)(2)(ii)",
                        "Dana Security Officer",
                        "Break-glass procedure documented and tested.",
                        evidence=None,
                        expires=None,
                    ),
                ),
            ),
        ),
        standard(
            "164.312(b)",
            "Audit controls",
            spec(
                "164.312(b)",
                "Audit controls",
                "aws-data",
                rules=(
                    rule("cloud-trail-log-file-validation-enabled", "CloudTrail validates its log files", COMPLIANT, compliant=2),
                    rule(
                        "cloudwatch-log-group-encrypted",
                        "CloudWatch log groups are encrypted with KMS",
                        EXCEPTED,
                        compliant=9,
                        excepted=2,
                        severity="medium",
                    ),
                ),
                exceptions=(
                    ExceptionEntry(
                        rule_id="cloudwatch-log-group-encrypted",
                        resource=ref("AWS::Logs::LogGroup", "/aws/lambda/ingest-" + "x" * 80, None),
                        owner=f"platform | {HOSTILE}",
                        justification="Debug logs hold no PHI (checked by the log scanner)",
                        expires=dt.date(2027, 3, 1),
                    ),
                    ExceptionEntry(
                        rule_id="cloudwatch-log-group-encrypted",
                        resource=ref("AWS::Logs::LogGroup", "/aws/vpc/flow-logs", None),
                        owner="network@example.com",
                        justification="Flow logs only",
                        expires=dt.date(2027, 3, 1),
                    ),
                ),
            ),
        ),
        standard(
            "164.312(c)(1)",
            "Integrity",
            spec(
                "164.312(c)(2)",
                "Mechanism to authenticate electronic protected health information",
                "aws-data",
                required=False,
                rules=(
                    rule(
                        "s3-bucket-versioning-enabled",
                        "S3 buckets keep versions",
                        COULD_NOT_CHECK,
                        compliant=30,
                        could_not_check=3,
                        severity="medium",
                    ),
                ),
            ),
        ),
        standard(
            "164.312(d)",
            "Person or entity authentication",
            spec(
                "164.312(d)",
                "Person or entity authentication",
                "aws-data",
                rules=(rule("iam-user-mfa-enabled", "IAM users have MFA", FAILING, compliant=8, non_compliant=1, severity="high"),),
                failing=(failing("iam-user-mfa-enabled", ROLE, "Console password without MFA\n| injected | table |", 3),),
            ),
        ),
        standard(
            "164.312(e)(1)",
            "Transmission security",
            spec(
                "164.312(e)(2)(i)",
                "Integrity controls",
                "aws-data",
                required=False,
                rules=(rule("elb-tls-https-listeners-only", "Load balancers listen with TLS only", COMPLIANT, compliant=3),),
            ),
            spec(
                "164.312(e)(2)(ii)",
                "Encryption",
                "aws-data",
                required=False,
                rules=(
                    rule(
                        "alb-http-to-https-redirection-check",
                        "HTTP listeners redirect to HTTPS",
                        FAILING,
                        compliant=2,
                        non_compliant=1,
                        severity="medium",
                    ),
                ),
                failing=(
                    failing(
                        "alb-http-to-https-redirection-check", LB, "Listener on port 80 forwards without redirecting to HTTPS", 6, "medium"
                    ),
                ),
            ),
        ),
    )
    organizational = part(
        "164.314",
        "Organizational requirements",
        standard(
            "164.314(a)(1)",
            "Business associate contracts or other arrangements",
            spec("164.314(a)(2)(i)", "Business associate contracts", "attestation"),
        ),
        standard(
            "164.314(b)(1)",
            "Requirements for group health plans",
            spec("164.314(b)(2)", "Implementation specifications (group health plans)", "attestation", required=True),
        ),
    )
    documentation = part(
        "164.316",
        "Policies and procedures and documentation requirements",
        standard(
            "164.316(a)",
            "Policies and procedures",
            spec(
                "164.316(a)",
                "Policies and procedures",
                "attestation",
                attestations=(
                    attestation(
                        "164.316(a)",
                        "Compliance | Office",
                        "Policies reviewed; see\nhttps://intranet.example.com/policies?id=1&v=2",
                        evidence="policies_v3 | final <b>.docx",
                        expires=dt.date(2026, 10, 1),  # expired
                    ),
                ),
            ),
        ),
        standard(
            "164.316(b)(1)",
            "Documentation",
            spec(
                "164.316(b)(2)(i)",
                "Time limit",
                "aws-data",
                rules=(
                    rule(
                        "cw-loggroup-retention-period-check",
                        "Log groups keep events at least 6 years",
                        FAILING,
                        compliant=3,
                        non_compliant=9,
                        severity="medium",
                    ),
                ),
                failing=tuple(
                    failing(
                        "cw-loggroup-retention-period-check",
                        ref("AWS::Logs::LogGroup", f"/aws/ecs/service-{n:02d}", None),
                        f"Retention is {30 * (n + 1)} days, below 2192",
                        12 + n,
                        "medium",
                    )
                    for n in range(9)
                ),
            ),
            spec(
                "164.316(b)(2)(ii)",
                "Availability",
                "attestation",
                attestations=(
                    attestation("164.316(b)(2)(ii)", "Records Manager", "Documentation available to the workforce on the intranet."),
                ),
            ),
        ),
    )
    return (administrative, physical, technical, organizational, documentation)


def _trend(days: int) -> tuple[Day, ...]:
    out = []
    failing_now = 19
    for n in range(days):
        day = START.date() + dt.timedelta(days=n)
        opened = (n * 7) % 5 if n % 3 else 0
        fixed = (n * 3) % 4 if n % 2 else 1
        failing_now = max(failing_now + opened - fixed, 0)
        out.append(Day(day=day, failing=failing_now, opened=opened, fixed=fixed))
    return tuple(out)


def _summary(parts: tuple[Part, ...], trend: tuple[Day, ...]) -> Summary:
    specs = [s for p in parts for st in p.standards for s in st.specifications]
    sections = {status: n for status in STATUS_ORDER if (n := sum(1 for s in specs if s.status == status))}
    all_failing = [f for s in specs for f in s.failing]
    order = ["critical", "high", "medium", "low"]
    top = tuple(sorted(all_failing, key=lambda f: (order.index(f.severity), f.opened_at))[:6])
    return Summary(
        posture=worst([p.status for p in parts]),
        resources=412,
        rules_run=57,
        failing=len(all_failing),
        excepted=sum(len(s.exceptions) for s in specs),
        could_not_check=6,
        opened_in_period=sum(d.opened for d in trend),
        fixed_in_period=sum(d.fixed for d in trend),
        mean_time_to_remediate_hours=37.25 if trend else None,
        sections=sections,
        trend=trend,
        top_risks=top,
    )


def sample_report(days: int = 30) -> Report:
    """The period November 2026 (``days`` days of trend) over two accounts and three Regions."""
    parts = _parts()
    trend = _trend(days)
    return Report(
        title="HIPAA Security Rule compliance report",
        generated_at=dt.datetime(2026, 12, 1, 6, 0, 12, tzinfo=dt.UTC),
        tool_version="0.1.0",
        period=Period(start=START, end=END),
        scope=Scope(accounts=(ACCOUNT, ACCOUNT2), regions=("us-east-1", "us-east-2", "us-west-2")),
        summary=_summary(parts, trend),
        parts=parts,
        notes=("History starts 2026-11-02: 2026-11-01 has no data.", f"Note with {HOSTILE} and | pipes"),
    )


def point_in_time_report() -> Report:
    """The same estate at one instant: no trend, no period start."""
    parts = _parts()
    return Report(
        title="HIPAA Security Rule compliance report",
        generated_at=dt.datetime(2026, 12, 1, 6, 0, 12, tzinfo=dt.UTC),
        tool_version="0.1.0",
        period=Period(end=END),
        scope=Scope(accounts=(ACCOUNT,), regions=("us-east-1",)),
        summary=_summary(parts, ()),
        parts=parts,
        sections_filter=None,
    )


def all_statuses(report: Report) -> set[str]:
    return {s.status for p in report.parts for st in p.standards for s in st.specifications}


def citations(report: Report) -> list[str]:
    """Every part, standard and specification citation in the report, in order."""
    out = []
    for p in report.parts:
        out.append(p.citation)
        for st in p.standards:
            out.append(st.citation)
            out.extend(s.citation for s in st.specifications)
    return out


__all__ = ["HOSTILE", "PIPE", "all_statuses", "citations", "point_in_time_report", "sample_report"]
