"""Marketplace connectors: one package per marketplace on a shared transport.

Start at ``connectors.base`` (the ``Connector`` protocol and types) and ``connectors.registry``
(``make_connector``). ``connectors.http`` and ``connectors.ratelimit`` are the shared transport.
"""
