"""The demo and benchmark harness: starts the sandboxes and drives the product against them.

A face-level package: it may import everything below it and the sandboxes; product code never
imports it (or the sandboxes) and only ever receives base URLs.
"""
