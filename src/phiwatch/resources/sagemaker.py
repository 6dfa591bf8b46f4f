"""SageMaker: notebook instances (AWS::SageMaker::NotebookInstance) and endpoint configurations"""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

NOTEBOOK = "AWS::SageMaker::NotebookInstance"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"

SERVICE = Service(
    "sagemaker",
    resources=(
        ResourceSpec(
            NOTEBOOK,
            events=(
                on(
                    "sagemaker.amazonaws.com",
                    ("CreateNotebookInstance UpdateNotebookInstance DeleteNotebookInstance StartNotebookInstance StopNotebookInstance"),
                    P("requestParameters.notebookInstanceName"),
                ),
                on(
                    "sagemaker.amazonaws.com",
                    "AddTags DeleteTags",
                    R("requestParameters.resourceArn", "^(arn:[^:]+:sagemaker:[^:]*:[^:]*:notebook-instance/.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            ENDPOINT_CONFIG,
            events=(
                on("sagemaker.amazonaws.com", "CreateEndpointConfig DeleteEndpointConfig", P("requestParameters.endpointConfigName")),
                on(
                    "sagemaker.amazonaws.com",
                    "AddTags DeleteTags",
                    R("requestParameters.resourceArn", "^(arn:[^:]+:sagemaker:[^:]*:[^:]*:endpoint-config/.+)$"),
                    optional=True,
                ),
            ),
        ),
    ),
    iam=(
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListNotebookInstances",
        "sagemaker:ListTags",
    ),
)
