"""HTTP face: the FastAPI application behind ``aimanager serve`` (REST API + web console).

A face like the CLI: every route calls the services the CLI calls (``pipelines/services``, the job
backend, the alert store); nothing here decides what the product does. This package's ``__init__``
imports nothing heavy so that ``aimanager.api.tables`` can be loaded by the migrations alone.
"""
