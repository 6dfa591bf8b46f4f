"""Continuous monitoring: change events (EventBridge -> SQS) re-collect, re-evaluate and act in seconds.

* :mod:`phiwatch.watch.events`: the declarative table from CloudTrail write calls and AWS Config
  item changes to the resources they touched, and the EventBridge patterns built from it.
* :mod:`phiwatch.watch.setup`: ``phiwatch watch setup`` (SQS queue + dead-letter queue, queue
  policy, EventBridge rules), idempotent.
* :mod:`phiwatch.watch.service`: the long-running loop (``phiwatch watch``).
* :mod:`phiwatch.watch.metrics`: Prometheus text metrics and a health check on loopback.
"""
