"""Job stores behind one protocol (``protocol``): the in-memory twin (``memory``) and SQL (``sql``)."""
