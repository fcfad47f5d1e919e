"""The package version, at the bottom of the import graph so that every layer can record it."""

__version__ = "0.1.0"
