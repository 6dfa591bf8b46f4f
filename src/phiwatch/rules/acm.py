"""ACM rule of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.acm`: ``configuration`` is DescribeCertificate's
element; ``NotAfter`` is absent while a certificate is not issued.
"""

from __future__ import annotations

import datetime as dt

from phiwatch.model import ConfigurationItem
from phiwatch.resources.acm import CERTIFICATE
from phiwatch.rules.base import Result, RuleContext, compliant, describe_failure, get, insufficient, non_compliant, not_applicable, rule


def parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@rule(
    "acm-certificate-expiration-check",
    reads={"configuration.Status": "DescribeCertificate"},
    aws_identifier="ACM_CERTIFICATE_EXPIRATION_CHECK",
    service="AWS Certificate Manager",
    resource_types=(CERTIFICATE,),
    trigger="change+periodic",
    severity="low",
    compliant_when="ACM certificate is not due to expire within daysToExpiration days (docs default 14; pack does not override).",
    parameters={"daysToExpiration": ("int", 14)},
)
def acm_certificate_expiration_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    not_after = get(item, "configuration.NotAfter")
    if not not_after:
        if "DescribeCertificate" in item.failed_apis():
            return insufficient(describe_failure(item, ["DescribeCertificate"]))
        return not_applicable(f"certificate has no expiry date (status {get(item, 'configuration.Status') or 'unknown'})")
    days = params.get("daysToExpiration")
    days = 14 if days is None else days
    expires = parse_time(not_after)
    left = expires - ctx.now
    when = expires.date().isoformat()
    if left <= dt.timedelta(0):
        return non_compliant(f"certificate expired on {when}")
    if left < dt.timedelta(days=days):
        return non_compliant(f"certificate expires on {when}, within {days} day(s)")
    return compliant(f"certificate expires on {when}, {left.days} days from now")


@rule(
    "acm-certificate-rsa-check",
    reads={},
    aws_identifier="ACM_CERTIFICATE_RSA_CHECK",
    service="AWS Certificate Manager",
    resource_types=(CERTIFICATE,),
    trigger="change",
    severity="medium",
    compliant_when="An RSA certificate's key is at least 2048 bits; certificates with an elliptic-curve key are not applicable.",
)
def acm_certificate_rsa_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    algorithm = get(item, "configuration.KeyAlgorithm")
    if not algorithm:
        if "DescribeCertificate" in item.failed_apis():
            return insufficient(describe_failure(item, ["DescribeCertificate"]))
        return insufficient("could not check: the certificate's key algorithm is not in its description")
    algorithm = str(algorithm).upper().replace("-", "_")
    if not algorithm.startswith("RSA"):
        return not_applicable(f"key algorithm {algorithm} is not RSA")
    try:
        bits = int(algorithm.rsplit("_", 1)[-1])
    except ValueError:
        return insufficient(f"could not check: unknown RSA key algorithm {algorithm}")
    if bits < 2048:
        return non_compliant(f"RSA key of {bits} bits, below 2048")
    return compliant(f"RSA key of {bits} bits")
