"""The version of calc (shown on every page, printout and JSON)."""

__version__ = "0.1.0"
