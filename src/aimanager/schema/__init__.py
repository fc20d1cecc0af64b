"""The database schema of the whole product: the store's tables and the engine's, migrated by Alembic.

It sits above both ``db`` and ``jobs`` because its migration environment needs every table.
"""
