"""The exceptions Quarry raises on purpose: each carries a message fit for a person."""

from __future__ import annotations


class QuarryError(Exception):
    """Base class: a failure with a one-line explanation for the user."""


class Cancelled(QuarryError):
    """The user (or a newer request) cancelled the work. Not an error to report."""


class ModelMissing(QuarryError):
    """No model file of the requested kind was found."""


class ModelInvalid(QuarryError):
    """A model file exists but cannot be used (bad header, wrong kind, failed load)."""


class UnsupportedFile(QuarryError):
    """A file Quarry does not read (unknown suffix, binary content)."""


class ExtractionFailed(QuarryError):
    """A document could not be read; the message says why."""


class StoreMismatch(QuarryError):
    """The index was built with another embedding model and must be rebuilt."""
