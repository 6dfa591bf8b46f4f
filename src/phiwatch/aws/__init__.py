"""AWS access: sessions, clients, regions and request counting."""

from phiwatch.aws.session import AwsContext, RequestCounter, iam_action_for

__all__ = ["AwsContext", "RequestCounter", "iam_action_for"]
