"""Elastic Beanstalk has no hook: its environments are collected by the generic collector from
:mod:`phiwatch.resources.elasticbeanstalk`, where the item layout is described.

This module registers no collector; it only keeps :func:`managed_actions` importable from its
former place (``tests/test_rules_more_services.py`` imports it from here).
"""

from __future__ import annotations

from phiwatch.resources.elasticbeanstalk import managed_actions

__all__ = ["managed_actions"]
