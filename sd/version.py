"""The toolkit's version (kept apart so that every module can name it without a cycle)."""

__version__ = "0.1.0"
