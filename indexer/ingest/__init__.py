"""Ingest: scan folders, extract text in a child process (loaders, OCR), normalise it, chunk it into passages, and the index run that stores them; the folder watcher."""
