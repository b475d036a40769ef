# The FHIR server fixtures (fhir_server, fhir_server_factory) live in tests/fhir_server.
pytest_plugins = ["tests.fhir_server"]
