"""AWS AppSync: GraphQL APIs (AWS::AppSync::GraphQLApi), regional.

Item layout:

* ``resourceId`` the ``apiId``, ``resourceName`` the API's ``name``, ``arn`` its ``arn``
  (``arn:aws:appsync:<region>:<account>:apis/<api id>``).
* ``configuration``: the ListGraphqlApis element in boto3 shape (its ``tags`` moved to the item's
  tags). Keys rules read: ``logConfig`` (``{"fieldLogLevel": "NONE"|"ERROR"|"INFO"|"DEBUG"|"ALL",
  "cloudWatchLogsRoleArn", "excludeVerboseContent"}``; absent = logging off), ``wafWebAclArn``
  (absent = no AWS WAF web ACL is associated), ``authenticationType``, ``xrayEnabled``.
* ``supplementaryConfiguration.ApiCache``: GetApiCache's ``apiCache`` (``{"type", "ttl",
  "atRestEncryptionEnabled", "transitEncryptionEnabled", "status", ...}``), **None when the API
  has no cache** (NotFoundException); the key is missing when the read failed (the error is on
  the item).
* ``tags``: the element's ``tags`` map.

A web ACL associated with an API (wafv2 AssociateWebACL) is not an event of this type: that call
names load balancers and stages as often, and the WAF rule on AppSync APIs is periodic. No
account-level keys; collected by the generic collector from this spec.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

GRAPHQL_API = "AWS::AppSync::GraphQLApi"

_API_ARN = r"^(arn:[^:]+:appsync:[^:]*:[^:]*:apis/[^/]+)$"

SERVICE = Service(
    "appsync",
    resources=(
        ResourceSpec(
            GRAPHQL_API,
            client="appsync",
            listing=Call("ListGraphqlApis", "appsync:ListGraphqlApis", result="graphqlApis"),
            id="apiId",
            name="name",
            arn=("arn", "arn:{partition}:appsync:{region}:{account}:apis/{id}"),
            details={
                "ApiCache": Call(
                    "GetApiCache", "appsync:GetApiCache", {"apiId": "apiId"}, result="apiCache", absent=("NotFoundException",), default=None
                ),
            },
            tags="tags",
            drop=("tags",),
            events=(
                on(
                    "appsync.amazonaws.com",
                    "CreateGraphqlApi UpdateGraphqlApi DeleteGraphqlApi CreateApiCache UpdateApiCache DeleteApiCache",
                    P("requestParameters.apiId"),
                    P("responseElements.graphqlApi.apiId"),
                ),
                on("appsync.amazonaws.com", "TagResource UntagResource", R("requestParameters.resourceArn", _API_ARN)),
            ),
        ),
    ),
)
