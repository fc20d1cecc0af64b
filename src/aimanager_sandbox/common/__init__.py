"""What every marketplace sandbox shares: the ``Sandbox`` base (config, limits, faults, clock, accounts,
request log), the ``gate`` in front of the routes, the seeded ``history``, the operator endpoints
(``control``: ``seeding`` and ``snapshot``) and ``serving`` on loopback. Nothing here knows a
particular marketplace."""
