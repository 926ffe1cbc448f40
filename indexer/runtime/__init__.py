"""How Quarry runs llama.cpp: a CPU variant proven in a child process before use
(``variants``, ``probe``), and a supervised worker process that holds the models
(``worker`` runs in the child, ``supervisor`` is its owner in the app or the CLI)."""
