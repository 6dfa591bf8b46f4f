"""Security Hub: whether the hub is enabled, as an account-level setting (AWS::::Account, regional).

Account item key (this region):

* ``configuration.securityHub``: DescribeHub's answer ``{"HubArn", "SubscribedAt",
  "AutoEnableControls", "ControlFindingGenerator"}`` when Security Hub is enabled here;
  ``None`` when it is not (AWS answers ``InvalidAccessException`` "not subscribed" or
  ``ResourceNotFoundException``).

The key is absent when DescribeHub failed for any other reason, e.g. ``AccessDeniedException``
(see ``collectionErrors``): "could not check", never "not enabled". No resources are recorded,
so there is no resource spec: the hook (``collect/securityhub.py``) makes the call listed in ``iam``.
"""

from __future__ import annotations

from phiwatch.resources.spec import Service, on

SERVICE = Service(
    "securityhub",
    account_events=(on("securityhub.amazonaws.com", "EnableSecurityHub DisableSecurityHub UpdateSecurityHubConfiguration"),),
    iam=("securityhub:DescribeHub",),
)
