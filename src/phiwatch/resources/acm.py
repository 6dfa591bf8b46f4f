"""ACM: certificates (AWS::ACM::Certificate), regional."""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

CERTIFICATE = "AWS::ACM::Certificate"

SERVICE = Service(
    "acm",
    resources=(
        ResourceSpec(
            CERTIFICATE,
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
    iam=(
        "acm:DescribeCertificate",
        "acm:ListCertificates",
        "acm:ListTagsForCertificate",
    ),
)
