"""Amazon SES (email receiving): receipt rules (AWS::SES::ReceiptRule), regional.

Item layout:

* ``resourceId`` ``<rule set name>/<rule name>`` (a rule's name is unique only within its rule
  set), ``resourceName`` the rule's ``Name``; no ARN (SES gives receipt rules none).
* ``configuration``: the rule as DescribeReceiptRuleSet lists it, in boto3 shape: ``Name``,
  ``Enabled``, ``TlsPolicy``, ``Recipients`` (addresses and domains; never put in an
  annotation), ``Actions``, ``ScanEnabled`` (**absent means false**: spam and virus scanning is off).
* ``supplementaryConfiguration.RuleSet``: ``{"Name"}`` of the rule set that holds it.

Rules are listed per rule set (ListReceiptRuleSets, then DescribeReceiptRuleSet of each), so the
type is collected by the hook :mod:`phiwatch.collect.ses`; the type is marked complete only when
the listing and every rule set's description succeeded. No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.spec import ResourceSpec, Service, T, on

RECEIPT_RULE = "AWS::SES::ReceiptRule"

SERVICE = Service(
    "ses",
    resources=(
        ResourceSpec(
            RECEIPT_RULE,
            events=(
                on(
                    "ses.amazonaws.com",
                    "CreateReceiptRule UpdateReceiptRule",
                    T("{requestParameters.ruleSetName}/{requestParameters.rule.name}"),
                ),
                on(
                    "ses.amazonaws.com",
                    "DeleteReceiptRule SetReceiptRulePosition",
                    T("{requestParameters.ruleSetName}/{requestParameters.ruleName}"),
                ),
                # whole rule sets: every rule of the set is re-read
                on("ses.amazonaws.com", "DeleteReceiptRuleSet CloneReceiptRuleSet ReorderReceiptRuleSet"),
            ),
        ),
    ),
    iam=("ses:ListReceiptRuleSets", "ses:DescribeReceiptRuleSet"),
)
