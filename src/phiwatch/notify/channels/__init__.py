"""Notification channels, one module each (sns, email, slack, webhook, apprise); see base.py."""

from phiwatch.notify.channels.base import (  # noqa: F401
    REGISTRY,
    Channel,
    ChannelConfigError,
    ChannelSettings,
    DeliveryError,
    Outgoing,
    channel_for,
    load_channels,
    register,
)
