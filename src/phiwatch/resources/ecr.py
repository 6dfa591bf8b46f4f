"""ECR: private repositories (AWS::ECR::Repository), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the ``repositoryName`` (AWS Config's id); ``arn``: the
  ``repositoryArn``.
* ``configuration``: DescribeRepositories' element in boto3 shape (``imageTagMutability``:
  ``MUTABLE``, ``IMMUTABLE`` or the ``..._WITH_EXCLUSION`` forms; ``imageScanningConfiguration.scanOnPush``
  (the repository-level basic scanning setting); ``encryptionConfiguration``).
* ``supplementaryConfiguration.LifecyclePolicy``: GetLifecyclePolicy's policy document (parsed
  JSON), None when the repository has none (``LifecyclePolicyNotFoundException``).
* ``supplementaryConfiguration.ScanningConfiguration``: the repository's element of
  BatchGetRepositoryScanningConfiguration: the scanning it gets from the registry's rules
  (``scanFrequency``: ``SCAN_ON_PUSH``, ``CONTINUOUS_SCAN`` or ``MANUAL``; ``scanOnPush``;
  ``appliedScanFilters``); None when the answer lists the repository under ``failures``.
* ``tags``: ListTagsForResource.

A key whose call failed is absent and the error is on the item. No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, json_document, on

REPOSITORY = "AWS::ECR::Repository"

SERVICE = Service(
    "ecr",
    resources=(
        ResourceSpec(
            REPOSITORY,
            client="ecr",
            listing=Call("DescribeRepositories", "ecr:DescribeRepositories", result="repositories"),
            id="repositoryName",
            arn="repositoryArn",
            details={
                "LifecyclePolicy": Call(
                    "GetLifecyclePolicy",
                    "ecr:GetLifecyclePolicy",
                    {"repositoryName": "repositoryName"},
                    result="lifecyclePolicyText",
                    absent=("LifecyclePolicyNotFoundException",),
                    parse=json_document,
                ),
                "ScanningConfiguration": Call(
                    "BatchGetRepositoryScanningConfiguration",
                    "ecr:BatchGetRepositoryScanningConfiguration",
                    {"repositoryNames": "[repositoryName]"},
                    result="scanningConfigurations[0]",
                ),
            },
            tags=Call("ListTagsForResource", "ecr:ListTagsForResource", {"resourceArn": "repositoryArn"}, result="tags"),
            events=(
                on(
                    "ecr.amazonaws.com",
                    (
                        "CreateRepository DeleteRepository PutImageTagMutability PutImageScanningConfiguration "
                        "PutLifecyclePolicy DeleteLifecyclePolicy SetRepositoryPolicy DeleteRepositoryPolicy"
                    ),
                    P("requestParameters.repositoryName"),
                ),
                on(
                    "ecr.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceArn", "^arn:[^:]+:ecr:[^:]*:[^:]*:repository/(.+)$"),
                ),
                # the registry's scanning rules decide every repository's scan frequency
                on("ecr.amazonaws.com", "PutRegistryScanningConfiguration"),
            ),
        ),
    ),
)
