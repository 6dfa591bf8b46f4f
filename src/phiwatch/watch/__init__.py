"""Continuous monitoring: change events (EventBridge -> SQS) re-collect, re-evaluate and act in seconds.

* :mod:`phiwatch.watch.events`: the declarative table from CloudTrail write calls and AWS Config
  item changes to the resources they touched, and the EventBridge patterns built from it.
* :mod:`phiwatch.watch.setup`: ``phiwatch watch setup`` (SQS queue + dead-letter queue, queue
  policy, EventBridge rules), idempotent.
* :mod:`phiwatch.watch.service`: the long-running loop (``phiwatch watch``) and the handling of
  one batch, with its parts:

  * :mod:`phiwatch.watch.options`: the service's settings;
  * :mod:`phiwatch.watch.queue`: SQS messages, visibility timeout and the heartbeat of a batch;
  * :mod:`phiwatch.watch.recollect`: targeted re-collection of what the events touched;
  * :mod:`phiwatch.watch.attribution`: naming the actor of a change on its history version;
  * :mod:`phiwatch.watch.pipeline`: evaluate, alert, remediate;
  * :mod:`phiwatch.watch.acknowledge`: deleting handled messages, returning failed ones;
  * :mod:`phiwatch.watch.sweeps`: the scheduled full sweep and periodic check;
  * :mod:`phiwatch.watch.log_format`: the service's log lines (JSON or text).
* :mod:`phiwatch.watch.metrics`: Prometheus text metrics and a health check on loopback.
"""
