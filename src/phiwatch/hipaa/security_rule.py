"""The HIPAA Security Rule (45 CFR Part 164 Subpart C) as data.

Every standard of sections 164.308 to 164.316 with its implementation specifications, each marked
Required or Addressable, explained in plain words, and with the main kind of evidence that can
show it is met:

- ``aws-data``: configuration that phiwatch's rules can check on AWS (audit logging, encryption,
  access control, backups...). More than AWS data may be needed, but it is the main evidence.
- ``attestation``: a person in the organisation must attest it (risk analysis, policies, training,
  contracts, plans and their tests...).
- ``aws-shared``: physical safeguards of AWS's own data centres and hardware, carried by AWS under
  the shared responsibility model and shown by AWS's SOC 2 report and the AWS BAA.

Citations are written as the rule packs write them: ``164.308(a)(1)`` names a standard,
``164.308(a)(1)(ii)(A)`` one of its implementation specifications. A standard with no
implementation specifications has a single :class:`Specification` with the standard's own
citation, so that every standard has something to give evidence for. The titles of the
specifications of 164.314(b)(2), which the regulation lists without titles, are descriptive.

The explanations say what each safeguard asks; they are not the regulation's text and not legal
advice.

This module imports only the standard library: it is the lowest layer of phiwatch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Evidence = Literal["aws-data", "attestation", "aws-shared"]

#: the kinds of evidence, in the order a report lists them
EVIDENCE_KINDS: tuple[Evidence, ...] = ("aws-data", "attestation", "aws-shared")


@dataclass(frozen=True)
class Specification:
    """An implementation specification, or a standard's own entry when it has none."""

    citation: str
    title: str
    required: bool  # False: Addressable
    explanation: str
    evidence: Evidence

    def __post_init__(self) -> None:
        if self.evidence not in EVIDENCE_KINDS:
            raise ValueError(f"{self.citation}: evidence must be one of {EVIDENCE_KINDS}, not {self.evidence!r}")


@dataclass(frozen=True)
class Standard:
    """A standard; a standard with no implementation specifications has exactly one
    :class:`Specification`, with the standard's own citation."""

    citation: str
    title: str
    explanation: str
    specifications: tuple[Specification, ...]


@dataclass(frozen=True)
class Part:
    """A section of Subpart C (164.308 Administrative safeguards...)."""

    citation: str
    title: str
    standards: tuple[Standard, ...]


def _only(citation: str, title: str, explanation: str, evidence: Evidence) -> Standard:
    """A standard with no implementation specifications (Required, as such standards are)."""
    return Standard(citation, title, explanation, (Specification(citation, title, True, explanation, evidence),))


REQUIRED = True
ADDRESSABLE = False

PARTS: tuple[Part, ...] = (
    Part(
        "164.308",
        "Administrative safeguards",
        (
            Standard(
                "164.308(a)(1)",
                "Security management process",
                "Run a security programme that prevents, detects, contains and corrects security violations: know the risks to "
                "ePHI, reduce them, hold people to account and look at what happens on the systems.",
                (
                    Specification(
                        "164.308(a)(1)(ii)(A)",
                        "Risk analysis",
                        REQUIRED,
                        "Work out, in writing, what threatens the confidentiality, integrity and availability of every system that "
                        "holds ePHI, AWS accounts included, and how likely and harmful each threat is. phiwatch's inventory and "
                        "findings can feed the analysis, but the dated, signed-off assessment is the organisation's own.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(1)(ii)(B)",
                        "Risk management",
                        REQUIRED,
                        "Put in place security measures that bring the risks found by the risk analysis down to a reasonable and "
                        "appropriate level, and follow them through. AWS findings (firewalls, encryption, public access) show some "
                        "measures at work; the risk management plan and its decisions are attested.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(1)(ii)(C)",
                        "Sanction policy",
                        REQUIRED,
                        "Have, and apply, disciplinary consequences for workforce members who break the security policies. The "
                        "evidence is the written policy and records of its use; nothing in AWS shows it.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(1)(ii)(D)",
                        "Information system activity review",
                        REQUIRED,
                        "Look regularly at audit logs, access reports and security incident tracking to catch inappropriate "
                        "activity. On AWS, CloudTrail, AWS Config, CloudWatch alarms, GuardDuty and Security Hub being enabled show "
                        "the records exist; a record of who reviewed them, and when, completes the evidence.",
                        "aws-data",
                    ),
                ),
            ),
            _only(
                "164.308(a)(2)",
                "Assigned security responsibility",
                "Name one security official who is responsible for writing and carrying out the security policies and procedures. "
                "The evidence is the written appointment.",
                "attestation",
            ),
            Standard(
                "164.308(a)(3)",
                "Workforce security",
                "Make sure that workforce members who need ePHI for their work have suitable access to it, and that those who do "
                "not are kept away from it.",
                (
                    Specification(
                        "164.308(a)(3)(ii)(A)",
                        "Authorization and/or supervision",
                        ADDRESSABLE,
                        "Authorise or supervise the people who work with ePHI or where it can be reached. On AWS, least-privilege "
                        "IAM policies, no broad administrator grants and no everyday use of the root user show how access is "
                        "authorised.",
                        "aws-data",
                    ),
                    Specification(
                        "164.308(a)(3)(ii)(B)",
                        "Workforce clearance procedure",
                        ADDRESSABLE,
                        "Check, before giving someone access to ePHI, that the access suits them, for example with background or "
                        "reference checks in proportion to the role. The evidence is the HR procedure and its records.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(3)(ii)(C)",
                        "Termination procedures",
                        ADDRESSABLE,
                        "Remove a person's access to ePHI when they leave or their role no longer needs it. The evidence is the "
                        "offboarding procedure and its records; on AWS, disabled unused credentials and rotated access keys show "
                        "that stale access does not linger.",
                        "attestation",
                    ),
                ),
            ),
            Standard(
                "164.308(a)(4)",
                "Information access management",
                "Grant access to ePHI through documented policies, so that each person and each system gets only the access its "
                "role needs.",
                (
                    Specification(
                        "164.308(a)(4)(ii)(A)",
                        "Isolating health care clearinghouse functions",
                        REQUIRED,
                        "Where a health care clearinghouse is part of a larger organisation, keep the clearinghouse's ePHI out of "
                        "reach of the rest of it. On AWS, separate accounts, network isolation and access policies give the "
                        "evidence; an organisation that is not a clearinghouse should say so.",
                        "aws-data",
                    ),
                    Specification(
                        "164.308(a)(4)(ii)(B)",
                        "Access authorization",
                        ADDRESSABLE,
                        "Have policies for granting access to ePHI: who may approve access to which system, account or workstation, "
                        "and how. The evidence is the approval procedure and its records; AWS shows what access exists, not who "
                        "approved it.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(4)(ii)(C)",
                        "Access establishment and modification",
                        ADDRESSABLE,
                        "Set up, document, review and change each user's access as the access policies say. On AWS, IAM "
                        "configuration (policies attached to groups or roles rather than users, no wildcard grants, rotated keys) "
                        "is the evidence of access as it stands.",
                        "aws-data",
                    ),
                ),
            ),
            Standard(
                "164.308(a)(5)",
                "Security awareness and training",
                "Run a security awareness and training programme for the whole workforce, management included.",
                (
                    Specification(
                        "164.308(a)(5)(ii)(A)",
                        "Security reminders",
                        ADDRESSABLE,
                        "Remind the workforce about security from time to time. The evidence is the reminders sent and their dates.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(5)(ii)(B)",
                        "Protection from malicious software",
                        ADDRESSABLE,
                        "Have procedures to guard against, detect and report malware. On AWS, GuardDuty, Amazon Inspector and "
                        "Systems Manager patch compliance give the evidence; training staff to spot malware is attested.",
                        "aws-data",
                    ),
                    Specification(
                        "164.308(a)(5)(ii)(C)",
                        "Log-in monitoring",
                        ADDRESSABLE,
                        "Watch log-in attempts and report the ones that look wrong. On AWS, CloudTrail records console sign-ins, "
                        "and GuardDuty and CloudWatch alarms flag unusual ones.",
                        "aws-data",
                    ),
                    Specification(
                        "164.308(a)(5)(ii)(D)",
                        "Password management",
                        ADDRESSABLE,
                        "Have procedures for creating, changing and protecting passwords. On AWS, the IAM password policy, MFA and "
                        "rotation of access keys give the evidence.",
                        "aws-data",
                    ),
                ),
            ),
            Standard(
                "164.308(a)(6)",
                "Security incident procedures",
                "Have policies and procedures for dealing with security incidents.",
                (
                    Specification(
                        "164.308(a)(6)(ii)",
                        "Response and reporting",
                        REQUIRED,
                        "Spot and respond to suspected or known security incidents, limit their harm where possible, and record "
                        "each incident and what came of it. GuardDuty, Security Hub and alerts show incidents can be detected; the "
                        "response plan and the incident records are attested.",
                        "attestation",
                    ),
                ),
            ),
            Standard(
                "164.308(a)(7)",
                "Contingency plan",
                "Plan for emergencies that damage systems holding ePHI, such as an outage, deletion, ransomware, the loss of a "
                "region or a natural disaster, so that ePHI can be recovered and critical work carries on.",
                (
                    Specification(
                        "164.308(a)(7)(ii)(A)",
                        "Data backup plan",
                        REQUIRED,
                        "Copy ePHI regularly so that an exact copy can be got back. On AWS, AWS Backup plans, automated RDS and "
                        "DynamoDB backups, point-in-time recovery and S3 versioning or replication give the evidence.",
                        "aws-data",
                    ),
                    Specification(
                        "164.308(a)(7)(ii)(B)",
                        "Disaster recovery plan",
                        REQUIRED,
                        "Have procedures to restore any data lost in a disaster. Multi-AZ deployments, cross-region replication and "
                        "backups on AWS make recovery possible, but the plan itself, with its recovery objectives and steps, is "
                        "attested.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(7)(ii)(C)",
                        "Emergency mode operation plan",
                        REQUIRED,
                        "Have procedures that keep critical business processes going, with ePHI still protected, while operating "
                        "in an emergency. The evidence is the plan.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(7)(ii)(D)",
                        "Testing and revision procedures",
                        ADDRESSABLE,
                        "Test the contingency plans from time to time and revise them from what the tests show. The evidence is "
                        "the records of restore tests and failover exercises.",
                        "attestation",
                    ),
                    Specification(
                        "164.308(a)(7)(ii)(E)",
                        "Applications and data criticality analysis",
                        ADDRESSABLE,
                        "Rank applications and data by how critical they are, to decide what to recover first. The evidence is the "
                        "written analysis; resource tags can record its result but not the decision.",
                        "attestation",
                    ),
                ),
            ),
            _only(
                "164.308(a)(8)",
                "Evaluation",
                "Evaluate, periodically and whenever the environment or operations change, how well the security policies and "
                "procedures meet the Security Rule, both technically and otherwise. phiwatch reports can be part of the "
                "evaluation; the evaluation itself is attested.",
                "attestation",
            ),
            Standard(
                "164.308(b)(1)",
                "Business associate contracts and other arrangements",
                "A covered entity may let a business associate handle ePHI for it only with written assurance that the business "
                "associate will safeguard it, and a business associate needs the same from its subcontractors. AWS is a business "
                "associate when it stores or processes ePHI.",
                (
                    Specification(
                        "164.308(b)(3)",
                        "Written contract or other arrangement",
                        REQUIRED,
                        "Record those assurances in a written contract or other arrangement that meets 164.314(a). The evidence is "
                        "the signed business associate agreements, among them the AWS BAA accepted in AWS Artifact for the accounts "
                        "that hold ePHI.",
                        "attestation",
                    ),
                ),
            ),
        ),
    ),
    Part(
        "164.310",
        "Physical safeguards",
        (
            Standard(
                "164.310(a)(1)",
                "Facility access controls",
                "Limit physical access to the systems holding ePHI, and to the buildings they are in, to people who are allowed "
                "in. For ePHI in AWS, AWS carries its data centres under the shared responsibility model, shown by its SOC 2 "
                "report and the AWS BAA; the customer's own premises remain its own to attest.",
                (
                    Specification(
                        "164.310(a)(2)(i)",
                        "Contingency operations",
                        ADDRESSABLE,
                        "Let the right people into the facility to restore lost data under the disaster recovery and emergency mode "
                        "plans. AWS carries this for its data centres.",
                        "aws-shared",
                    ),
                    Specification(
                        "164.310(a)(2)(ii)",
                        "Facility security plan",
                        ADDRESSABLE,
                        "Protect the facility and the equipment in it from unauthorised entry, tampering and theft. AWS's data centre "
                        "controls, covered by its SOC 2 report, are the evidence.",
                        "aws-shared",
                    ),
                    Specification(
                        "164.310(a)(2)(iii)",
                        "Access control and validation procedures",
                        ADDRESSABLE,
                        "Control and check each person's physical access by their role, visitors included, along with access to "
                        "software for testing and revision. For AWS data centres, AWS's SOC 2 report is the evidence.",
                        "aws-shared",
                    ),
                    Specification(
                        "164.310(a)(2)(iv)",
                        "Maintenance records",
                        ADDRESSABLE,
                        "Record repairs and changes to the physical security of a facility, such as doors, locks and walls. AWS "
                        "keeps these records for its data centres.",
                        "aws-shared",
                    ),
                ),
            ),
            _only(
                "164.310(b)",
                "Workstation use",
                "Say how workstations that can reach ePHI are to be used and where they may be, for example screen locks and no "
                "use in public places. These are the customer's own laptops and desktops, those used to reach the AWS console "
                "included: the evidence is the policy and the organisation's attestation.",
                "attestation",
            ),
            _only(
                "164.310(c)",
                "Workstation security",
                "Physically protect every workstation that can reach ePHI so that only authorised users can use it. AWS does not "
                "see the customer's workstations: the evidence is the organisation's endpoint controls, attested.",
                "attestation",
            ),
            Standard(
                "164.310(d)(1)",
                "Device and media controls",
                "Control how hardware and electronic media holding ePHI come into, move within and leave a facility. AWS carries "
                "its own disks and servers; the customer remains responsible for its own devices and for copies it takes out of "
                "AWS.",
                (
                    Specification(
                        "164.310(d)(2)(i)",
                        "Disposal",
                        REQUIRED,
                        "Dispose of ePHI, and of the hardware or media holding it, so that it cannot be recovered. AWS sanitises or "
                        "destroys its storage media at the end of their life, shown by its SOC 2 report; the customer's own devices "
                        "are the customer's to attest.",
                        "aws-shared",
                    ),
                    Specification(
                        "164.310(d)(2)(ii)",
                        "Media re-use",
                        REQUIRED,
                        "Remove ePHI from electronic media before they are used again. AWS wipes storage such as EBS volumes and "
                        "instance stores before another customer gets it, shown by its SOC 2 report.",
                        "aws-shared",
                    ),
                    Specification(
                        "164.310(d)(2)(iii)",
                        "Accountability",
                        ADDRESSABLE,
                        "Keep a record of the movements of hardware and electronic media and of who is responsible for them. AWS "
                        "tracks its data centre hardware; the customer keeps this record for its own devices and for any media "
                        "that leave AWS.",
                        "attestation",
                    ),
                    Specification(
                        "164.310(d)(2)(iv)",
                        "Data backup and storage",
                        ADDRESSABLE,
                        "When needed, make an exact, retrievable copy of ePHI before equipment is moved. On AWS, backups and "
                        "snapshots of volumes and databases give the evidence.",
                        "aws-data",
                    ),
                ),
            ),
        ),
    ),
    Part(
        "164.312",
        "Technical safeguards",
        (
            Standard(
                "164.312(a)(1)",
                "Access control",
                "Let only authorised people and software reach systems holding ePHI, by technical means. On AWS these are IAM, "
                "resource policies, network controls and encryption keys.",
                (
                    Specification(
                        "164.312(a)(2)(i)",
                        "Unique user identification",
                        REQUIRED,
                        "Give each user a unique name or number so that every action can be traced to a person. On AWS, individual "
                        "IAM or IAM Identity Center users, no shared credentials and no everyday use of the root user give the "
                        "evidence.",
                        "aws-data",
                    ),
                    Specification(
                        "164.312(a)(2)(ii)",
                        "Emergency access procedure",
                        REQUIRED,
                        "Have a way to get at ePHI in an emergency, such as a documented break-glass role or account. MFA on the "
                        "root user can be checked on AWS; the procedure itself is attested.",
                        "attestation",
                    ),
                    Specification(
                        "164.312(a)(2)(iii)",
                        "Automatic logoff",
                        ADDRESSABLE,
                        "End sessions after a set time of inactivity. Session lengths on AWS (console, IAM roles, IAM Identity "
                        "Center) are only part of it: the applications and workstations that show ePHI must time out too, which is "
                        "attested.",
                        "attestation",
                    ),
                    Specification(
                        "164.312(a)(2)(iv)",
                        "Encryption and decryption",
                        ADDRESSABLE,
                        "Encrypt stored ePHI so that only holders of the keys can read it. On AWS, encryption at rest of S3, EBS, "
                        "RDS, DynamoDB and other stores, with KMS keys, gives the evidence.",
                        "aws-data",
                    ),
                ),
            ),
            _only(
                "164.312(b)",
                "Audit controls",
                "Record, and be able to examine, activity in the systems that hold or use ePHI. On AWS, CloudTrail in every "
                "region with log file validation, CloudWatch log retention, S3 access logs, VPC flow logs and database logs give "
                "the evidence.",
                "aws-data",
            ),
            Standard(
                "164.312(c)(1)",
                "Integrity",
                "Protect ePHI from being altered or destroyed improperly.",
                (
                    Specification(
                        "164.312(c)(2)",
                        "Mechanism to authenticate electronic protected health information",
                        ADDRESSABLE,
                        "Have electronic means of confirming that ePHI has not been altered or destroyed improperly. On AWS, S3 "
                        "versioning and Object Lock, CloudTrail log file validation and checksums give the evidence.",
                        "aws-data",
                    ),
                ),
            ),
            _only(
                "164.312(d)",
                "Person or entity authentication",
                "Verify that a person or system asking for ePHI is who or what it claims to be. On AWS, MFA for IAM users and the "
                "root user, and sign-in through an identity provider, give the evidence.",
                "aws-data",
            ),
            Standard(
                "164.312(e)(1)",
                "Transmission security",
                "Protect ePHI sent over a network from being read or changed by anyone not allowed to.",
                (
                    Specification(
                        "164.312(e)(2)(i)",
                        "Integrity controls",
                        ADDRESSABLE,
                        "Make sure ePHI sent over a network cannot be changed undetected on the way. On AWS, TLS on load balancers, "
                        "API endpoints and buckets (denying requests without aws:SecureTransport) gives the evidence.",
                        "aws-data",
                    ),
                    Specification(
                        "164.312(e)(2)(ii)",
                        "Encryption",
                        ADDRESSABLE,
                        "Encrypt ePHI in transit wherever it is appropriate. On AWS, HTTPS-only listeners, current TLS policies, "
                        "enforced TLS on databases and caches, and VPN tunnels give the evidence.",
                        "aws-data",
                    ),
                ),
            ),
        ),
    ),
    Part(
        "164.314",
        "Organizational requirements",
        (
            Standard(
                "164.314(a)(1)",
                "Business associate contracts or other arrangements",
                "The contract or other arrangement with a business associate, or between a business associate and its "
                "subcontractor, must meet the requirements below; a party that knows the other is materially breaching it must "
                "act to cure the breach or end the contract.",
                (
                    Specification(
                        "164.314(a)(2)(i)",
                        "Business associate contracts",
                        REQUIRED,
                        "The contract must require the business associate to comply with the Security Rule, to bind its "
                        "subcontractors in the same way, and to report security incidents, breaches of unsecured PHI included. The "
                        "evidence is the signed contract, such as the AWS BAA.",
                        "attestation",
                    ),
                    Specification(
                        "164.314(a)(2)(ii)",
                        "Other arrangements",
                        REQUIRED,
                        "When both parties are government entities, a memorandum of understanding, or a law that achieves the same, "
                        "may take the place of a contract. The evidence is that arrangement.",
                        "attestation",
                    ),
                    Specification(
                        "164.314(a)(2)(iii)",
                        "Business associate contracts with subcontractors",
                        REQUIRED,
                        "A business associate's contract with a subcontractor that handles ePHI must meet the same requirements. "
                        "The evidence is the signed subcontractor agreements.",
                        "attestation",
                    ),
                ),
            ),
            Standard(
                "164.314(b)(1)",
                "Requirements for group health plans",
                "A group health plan that lets its plan sponsor handle ePHI must have plan documents that require the sponsor to "
                "safeguard it, unless it passes on only summary health or enrolment information.",
                (
                    Specification(
                        "164.314(b)(2)(i)",
                        "Safeguards by the plan sponsor",
                        REQUIRED,
                        "The plan documents must require the sponsor to put administrative, physical and technical safeguards on "
                        "the ePHI it handles for the plan. The evidence is the amended plan documents.",
                        "attestation",
                    ),
                    Specification(
                        "164.314(b)(2)(ii)",
                        "Adequate separation",
                        REQUIRED,
                        "The plan documents must require that the separation between the plan and the sponsor (164.504(f)(2)(iii)) "
                        "be backed by reasonable and appropriate security measures. The evidence is the amended plan documents.",
                        "attestation",
                    ),
                    Specification(
                        "164.314(b)(2)(iii)",
                        "Security measures of agents",
                        REQUIRED,
                        "The plan documents must require that any agent the sponsor passes the ePHI to agrees to reasonable and "
                        "appropriate security measures. The evidence is the plan documents and the agents' agreements.",
                        "attestation",
                    ),
                    Specification(
                        "164.314(b)(2)(iv)",
                        "Reporting of security incidents",
                        REQUIRED,
                        "The plan documents must require the sponsor to report to the plan any security incident it learns of. The "
                        "evidence is the amended plan documents.",
                        "attestation",
                    ),
                ),
            ),
        ),
    ),
    Part(
        "164.316",
        "Policies and procedures and documentation requirements",
        (
            _only(
                "164.316(a)",
                "Policies and procedures",
                "Adopt reasonable and appropriate written policies and procedures for complying with the Security Rule, and change "
                "them when needed. The evidence is the set of policies itself.",
                "attestation",
            ),
            Standard(
                "164.316(b)(1)",
                "Documentation",
                "Keep the policies and procedures, and a record of every action, activity or assessment the Security Rule asks to "
                "be recorded, in writing, which may be electronic.",
                (
                    Specification(
                        "164.316(b)(2)(i)",
                        "Time limit",
                        REQUIRED,
                        "Keep that documentation for six years from when it was made or last in effect, whichever is later. The "
                        "retention policy is attested; S3 Object Lock or lifecycle rules on the bucket that keeps it can support it.",
                        "attestation",
                    ),
                    Specification(
                        "164.316(b)(2)(ii)",
                        "Availability",
                        REQUIRED,
                        "Make the documentation available to the people who carry out the procedures it describes.",
                        "attestation",
                    ),
                    Specification(
                        "164.316(b)(2)(iii)",
                        "Updates",
                        REQUIRED,
                        "Review the documentation periodically and update it when changes in the environment or operations affect "
                        "the security of ePHI.",
                        "attestation",
                    ),
                ),
            ),
        ),
    ),
)


def parts() -> tuple[Part, ...]:
    """The parts of Subpart C, in the regulation's order."""
    return PARTS


def _covers_text(prefix: str, citation: str) -> bool:
    """Whether ``citation`` is ``prefix`` or lies under it, by the text: the prefix followed by a
    citation boundary (``(``, or ``.`` after the bare part number), never in the middle of a
    number (``164.31`` does not cover ``164.312``)."""
    if citation == prefix:
        return True
    return citation.startswith(prefix) and citation[len(prefix)] in "(."


def _standard_paragraph(standard: Standard) -> str | None:
    """The citation of the paragraph holding a standard's own text when its implementation
    specifications are in the next one: ``164.308(a)(7)(i)`` for the contingency plan, whose
    specifications are ``164.308(a)(7)(ii)(A)``...; None otherwise (``164.312(a)(1)``'s are in
    ``164.312(a)(2)``)."""
    below = standard.citation + "(ii)"
    if any(_covers_text(below, s.citation) for s in standard.specifications):
        return standard.citation + "(i)"
    return None


def _indexes() -> tuple[dict[str, Specification], dict[str, Standard], dict[str, Standard]]:
    specifications: dict[str, Specification] = {}
    standard_of_specification: dict[str, Standard] = {}
    standards: dict[str, Standard] = {}  # by its citation, and by the paragraph holding its text
    seen: set[str] = set()
    for part in PARTS:
        for standard in part.standards:
            if not standard.specifications:
                raise ValueError(f"{standard.citation}: a standard has at least one specification")
            own = [s for s in standard.specifications if s.citation == standard.citation]
            if own and len(standard.specifications) != 1:
                raise ValueError(f"{standard.citation}: a standard's own entry is its only specification")
            names = [standard.citation, *(s.citation for s in standard.specifications if s.citation != standard.citation)]
            paragraph = _standard_paragraph(standard)
            if paragraph is not None:
                names.append(paragraph)
            for name in names:
                if name in seen:
                    raise ValueError(f"citation {name} appears twice")
                if not _covers_text(part.citation, name):
                    raise ValueError(f"citation {name} is not in {part.citation}")
                seen.add(name)
            standards[standard.citation] = standard
            if paragraph is not None:
                standards[paragraph] = standard
            for spec in standard.specifications:
                specifications[spec.citation] = spec
                standard_of_specification[spec.citation] = standard
    return specifications, standard_of_specification, standards


_SPECIFICATIONS, _STANDARD_OF_SPECIFICATION, _STANDARDS = _indexes()


def specification(citation: str) -> Specification | None:
    """The implementation specification (or specification-less standard) cited exactly, or None."""
    return _SPECIFICATIONS.get(citation.strip())


def standard_of(citation: str) -> Standard | None:
    """The standard ``citation`` belongs to: the standard itself (also when cited by the paragraph
    holding its text, ``164.308(a)(7)(i)``), the standard of a specification, or the standard of a
    paragraph that lies within a single standard (``164.312(a)(2)``); None for anything else
    (unknown citations, and paragraphs or parts spanning several standards)."""
    citation = citation.strip()
    found = _STANDARDS.get(citation) or _STANDARD_OF_SPECIFICATION.get(citation)
    if found is not None:
        return found
    within = {
        id(standard): standard
        for name, standard in (*_STANDARDS.items(), *_STANDARD_OF_SPECIFICATION.items())
        if _covers_text(citation, name)
    }
    return next(iter(within.values())) if len(within) == 1 else None


def resolve(citation: str) -> tuple[Specification, ...]:
    """The specifications a (rule pack's) citation gives evidence for: the specification itself;
    all of a standard's when it names a standard (``164.312(a)(1)``, ``164.308(a)(7)(i)``); those
    of a paragraph within one standard (``164.312(a)(2)``); () when the citation is unknown."""
    citation = citation.strip()
    spec = _SPECIFICATIONS.get(citation)
    if spec is not None:
        return (spec,)
    standard = standard_of(citation)
    if standard is None:
        return ()
    if citation in _STANDARDS or _covers_text(citation, standard.citation):
        return standard.specifications
    return tuple(s for s in standard.specifications if _covers_text(citation, s.citation))


def covers(prefix: str, citation: str) -> bool:
    """Whether a ``--section prefix`` filter takes ``citation``: the citation itself, anything in the
    part or paragraph the prefix names (``164.312`` takes ``164.312(b)``; ``164.31`` does not take
    ``164.312``), and, when the prefix names a standard, its specifications (``164.312(a)(1)``
    takes ``164.312(a)(2)(iv)``) and the paragraph holding its text."""
    prefix, citation = prefix.strip(), citation.strip()
    if not prefix:
        return False
    if _covers_text(prefix, citation):
        return True
    standard = _STANDARDS.get(prefix)
    if standard is None:
        return False
    paragraph = _standard_paragraph(standard)
    names = (standard.citation, *((paragraph,) if paragraph else ()), *(s.citation for s in standard.specifications))
    return any(_covers_text(name, citation) for name in names)


_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
_PARAGRAPH = re.compile(r"\(([^()]*)\)")


def _roman(text: str) -> int | None:
    if not text or any(ch not in _ROMAN for ch in text):
        return None
    total = 0
    for ch, after in zip(text, (*text[1:], "")):
        value = _ROMAN[ch]
        total += -value if after and _ROMAN[after] > value else value
    return total


def _letters(text: str) -> int:
    """a=1 ... z=26, aa=27 ...: the order of lettered paragraphs."""
    total = 0
    for ch in text.lower():
        total = total * 26 + (ord(ch) - ord("a") + 1)
    return total


def _paragraph_key(depth: int, text: str) -> tuple[int, int, str]:
    """One paragraph's place among its siblings. The CFR numbers its levels (a), (1), (i), (A), then
    again with italics; lowercase at the third level of each round is a roman numeral."""
    if text.isdigit():
        return (0, int(text), "")
    if text.isascii() and text.isalpha():
        if depth % 3 == 2 and text.islower():
            value = _roman(text)
            if value is not None:
                return (0, value, "")
        return (0, _letters(text), "")
    return (1, 0, text)


def sort_key(citation: str) -> tuple[tuple[int, int, str], ...]:
    """A key that orders citations as the regulation does: ``164.308(a)(2)`` before
    ``164.308(a)(10)``, ``164.312(a)(2)(iv)`` before ``164.312(a)(2)(v)``, a standard before its
    specifications, and a part before its paragraphs. Anything unparsable sorts after what is."""
    citation = citation.strip()
    head, _, rest = citation.partition("(")
    key: list[tuple[int, int, str]] = [(0, int(n), "") if n.isdigit() else (1, 0, n) for n in head.split(".")]
    rest = "(" + rest if rest else ""
    paragraphs = _PARAGRAPH.findall(rest)
    if "".join(f"({p})" for p in paragraphs) != rest:  # not a well-formed run of (x)(y)...
        return (*key, (1, 0, rest))
    key += [_paragraph_key(depth, p) for depth, p in enumerate(paragraphs)]
    return tuple(key)
