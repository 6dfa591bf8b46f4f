"""Elastic Beanstalk's hook: environments (AWS::ElasticBeanstalk::Environment); the item layout is in
:mod:`phiwatch.resources.elasticbeanstalk`.

Why a hook: one DescribeConfigurationSettings answer fills two keys. The spec records the option
settings rules read (``OptionSettings``); this hook derives ``ManagedActions`` from them, so the
call is made once per environment.
"""

from __future__ import annotations

from collections.abc import Iterator

from phiwatch.collect.base import CollectContext, Collector, register
from phiwatch.collect.generic import collect_spec
from phiwatch.model import ConfigurationItem
from phiwatch.resources.elasticbeanstalk import ENVIRONMENT, SPEC, managed_actions_of


@register
class ElasticBeanstalkCollector(Collector):
    name = "elasticbeanstalk"
    resource_types = (ENVIRONMENT,)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        for item in collect_spec(ctx, SPEC, "elasticbeanstalk"):
            settings = item.supplementaryConfiguration.get("OptionSettings")
            if isinstance(settings, dict):
                item.supplementaryConfiguration["ManagedActions"] = managed_actions_of(settings)
                item.refresh_state_id()
            yield item
