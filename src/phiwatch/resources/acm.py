"""ACM: certificates (AWS::ACM::Certificate), regional.

Item layout:

* resourceId and arn: the ``CertificateArn`` (AWS Config's id for certificates);
  resourceName: ``DomainName``.
* ``configuration``: DescribeCertificate's ``Certificate`` element in boto3 shape, with the
  keys rules read: ``NotAfter`` (ISO time; absent while a certificate is not issued, e.g.
  ``PENDING_VALIDATION``), ``NotBefore``, ``Status`` (``ISSUED``, ``EXPIRED``, ...), ``Type``
  (``IMPORTED`` | ``AMAZON_ISSUED`` | ``PRIVATE``), ``InUseBy`` (ARNs of the resources using
  it), ``RenewalEligibility``, ``KeyAlgorithm``, ``DomainName``, ``SubjectAlternativeNames``.
  Certificate bodies and private keys are never read (no GetCertificate / ExportCertificate).
* ``tags``: ListTagsForCertificate.

When DescribeCertificate fails, the item is still recorded from the ListCertificates summary
(``configuration`` = the summary, which carries ``NotAfter``, ``Status``, ``Type`` and
``InUse``) and the error is on the item. A failed ListTagsForCertificate leaves ``tags``
empty with the error on the item. No account-level keys.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from phiwatch.resources.spec import Call, P, ResourceSpec, Service, on

CERTIFICATE = "AWS::ACM::Certificate"

#: the documented key algorithms, for a botocore model without the ``KeyAlgorithm`` enum
_KEY_TYPES = ("RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1")


@cache
def _key_types() -> tuple[str, ...]:
    """Every key algorithm botocore's model of ACM knows (read once, lazily: no AWS call)."""
    try:
        import botocore.session  # noqa: PLC0415 - only when ACM is collected

        return tuple(botocore.session.get_session().get_service_model("acm").shape_for("KeyAlgorithm").enum)
    except Exception:  # noqa: BLE001 - an older model: fall back to the documented list
        return _KEY_TYPES


def _all_key_types(_: Any = None) -> dict[str, list[str]]:
    """ListCertificates' ``Includes``: every key algorithm. ListCertificates returns only
    RSA_1024/RSA_2048 certificates unless the key types are asked for explicitly."""
    return {"keyTypes": list(_key_types())}


SERVICE = Service(
    "acm",
    resources=(
        ResourceSpec(
            CERTIFICATE,
            client="acm",
            listing=Call(
                "ListCertificates",
                "acm:ListCertificates",
                {"Includes": _all_key_types},
                result="CertificateSummaryList",
            ),
            id="CertificateArn",
            name="DomainName",
            arn="CertificateArn",
            describe=Call(
                "DescribeCertificate",
                "acm:DescribeCertificate",
                {"CertificateArn": "CertificateArn"},
                result="Certificate || `null`",
            ),
            tags=Call("ListTagsForCertificate", "acm:ListTagsForCertificate", {"CertificateArn": "CertificateArn"}, result="Tags"),
            events=(
                on(
                    "acm.amazonaws.com",
                    (
                        "RequestCertificate ImportCertificate DeleteCertificate RenewCertificate "
                        "AddTagsToCertificate RemoveTagsFromCertificate"
                    ),
                    P("requestParameters.certificateArn"),
                    P("responseElements.certificateArn"),
                ),
            ),
        ),
    ),
)
