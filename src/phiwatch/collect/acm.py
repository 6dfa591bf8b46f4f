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

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.acm import CERTIFICATE


def _all_key_types(ctx: CollectContext) -> list[str]:
    """Every key algorithm botocore knows: ListCertificates returns only RSA_1024/RSA_2048
    certificates unless the key types are asked for explicitly."""
    try:
        return list(ctx.client("acm").meta.service_model.shape_for("KeyAlgorithm").enum)
    except Exception:  # noqa: BLE001 - an older model: fall back to the documented list
        return ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


@register
class AcmCollector(Collector):
    name = "acm"
    resource_types = (CERTIFICATE,)
    targetable = frozenset({CERTIFICATE})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(CERTIFICATE):  # a targeted run for other services' resources
            return
        try:
            summaries = list(
                ctx.paginate(
                    "acm",
                    "ListCertificates",
                    "CertificateSummaryList",
                    resource_type=CERTIFICATE,
                    id_key="CertificateArn",
                    Includes={"keyTypes": _all_key_types(ctx)},
                )
            )
        except ListFailed:
            return
        summaries = [s for s in summaries if ctx.selected(CERTIFICATE, s.get("CertificateArn"), s.get("DomainName"))]
        yield from ctx.map(lambda s: self._certificate(ctx, s), summaries)
        ctx.mark_complete(CERTIFICATE)

    def _certificate(self, ctx: CollectContext, summary: dict[str, Any]) -> ConfigurationItem:
        arn = summary["CertificateArn"]
        item = ctx.item(CERTIFICATE, arn, resourceName=summary.get("DomainName"), arn=arn, configuration=dict(summary))
        described = ctx.call("acm", "DescribeCertificate", item=item, CertificateArn=arn)
        if described is not FAILED:
            item.configuration = described.get("Certificate") or dict(summary)
        tags = ctx.call("acm", "ListTagsForCertificate", item=item, CertificateArn=arn)
        if tags is not FAILED:
            item.tags = tags_from_list(tags.get("Tags"))
        item.refresh_state_id()
        return item
