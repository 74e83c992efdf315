"""The production shape on one machine: real servers on loopback, for ``make cluster`` and tests.

Each module starts one kind of server in a directory it is given, on free 127.0.0.1 ports,
and stops it when its context manager ends; a watchdog (``processes``) stops whatever is
left if the starting process dies without cleaning up. ``docs/runbooks/failover.md`` and
``deploy/`` describe the same shape on real machines.
"""
