"""The version of meso-fhir, defined here only (pyproject.toml reads it)."""

__version__ = "0.1.0"
