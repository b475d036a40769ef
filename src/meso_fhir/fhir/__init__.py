"""The FHIR server's side: talking to it over HTTP, and reading what it answers.

client.py    FhirClient (httpx): retries, backoff, Retry-After, deadlines, errors
outcome.py   OperationOutcome and transaction-response parsing (pure)
redact.py    credentials and patients' values scrubbed out of server texts (pure)
"""

from .auth import ClientSecretAuth, SmartBackendAuth
from .client import BearerToken, FhirClient, RetryPolicy
from .outcome import EntryResult, operation_outcome_text, outcome_issues, parse_transaction_response

__all__ = [
    "BearerToken",
    "ClientSecretAuth",
    "EntryResult",
    "FhirClient",
    "RetryPolicy",
    "SmartBackendAuth",
    "operation_outcome_text",
    "outcome_issues",
    "parse_transaction_response",
]
