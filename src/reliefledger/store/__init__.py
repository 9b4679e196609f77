"""Storage: the SQLite block store with results, world state and the transaction index."""
