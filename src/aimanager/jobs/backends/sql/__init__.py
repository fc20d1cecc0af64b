"""The SQL backend: the hot path (``backend``) and its statements (``statements``, ``sqlite_fast``),
administration (``admin``), statistics (``stats``) and the engine's tables (``tables``)."""
