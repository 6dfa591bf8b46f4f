"""Site-to-Site VPN hook: VPN connections collected from their spec (:mod:`phiwatch.resources.vpn`,
which describes the items), then post-processed.

Needed because the spec cannot say two things: skip the listed connections in state ``deleted``
(AWS lists them for a while), and remove secrets nested in the configuration (each tunnel's
``PreSharedKey``, the ``CustomerGatewayConfiguration`` XML holding them) and the volatile
``VgwTelemetry[].LastStatusChange``, after the tags are read from the element's ``Tags``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, register
from phiwatch.collect.generic import collect_spec
from phiwatch.model import ConfigurationItem
from phiwatch.resources.vpn import CONNECTION, VPN_CONNECTION


def redact(element: dict[str, Any]) -> dict[str, Any]:
    """The element without pre-shared keys, the customer gateway configuration and status timestamps."""
    configuration = {k: v for k, v in element.items() if k not in ("CustomerGatewayConfiguration", "Tags")}
    options = configuration.get("Options")
    if isinstance(options, dict) and options.get("TunnelOptions"):
        configuration["Options"] = {
            **options,
            "TunnelOptions": [{k: v for k, v in t.items() if k != "PreSharedKey"} for t in options["TunnelOptions"]],
        }
    if configuration.get("VgwTelemetry"):
        configuration["VgwTelemetry"] = [{k: v for k, v in t.items() if k != "LastStatusChange"} for t in configuration["VgwTelemetry"]]
    return configuration


@register
class VpnCollector(Collector):
    name = "vpn"
    resource_types = (VPN_CONNECTION,)
    targetable = frozenset({VPN_CONNECTION})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        for item in collect_spec(ctx, CONNECTION, "ec2"):
            if item.configuration.get("State") == "deleted":
                continue
            item.configuration = redact(item.configuration)
            item.refresh_state_id()
            yield item
