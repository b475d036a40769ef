"""meso-fhir: a mesotherapy clinic's records as profiled FHIR R4, synced with any FHIR R4 server."""

__version__ = "0.1.0"
