"""Store: the LanceDB index of documents and passages, its metadata and schema upgrades."""
