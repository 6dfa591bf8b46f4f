"""Site-to-Site VPN: no hook. VPN connections are collected by the generic collector from their spec
(:mod:`phiwatch.resources.vpn`, which describes the items); this module registers no collector and
only keeps :func:`redact` importable from its former home."""

from __future__ import annotations

from phiwatch.resources.vpn import redact

__all__ = ["redact"]
