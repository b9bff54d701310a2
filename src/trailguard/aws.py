"""AWS clients, injected: an explicit client if given, else one built from the environment.

As in aws-lambda-powertools, callers take an optional client argument; tests pass clients
pointed at moto's server, production gets a cached default. boto3 is imported here, on
first use, and nowhere else: paths that do not call AWS never load it. The endpoint and
region come from the environment (AWS_ENDPOINT_URL, AWS_REGION), as boto3 reads them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "ServiceUnavailableException",
    }
)


class AwsUnavailableError(RuntimeError):
    """boto3 is not installed where an AWS feature was asked for."""


def client(service: str, explicit: Any | None = None, region: str | None = None) -> Any:
    """`explicit` if given, else a cached client for `service` from the environment."""
    if explicit is not None:
        return explicit
    return _default_client(service, region)


@cache
def _default_client(service: str, region: str | None) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise AwsUnavailableError(
            f"the {service} feature needs boto3: install trailguard with `pip install "
            "'trailguard[aws]'` (the Lambda runtime already has it)"
        ) from None
    config = Config(
        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=15
    )
    return boto3.session.Session().client(service, region_name=region, config=config)


def is_transient(exc: BaseException) -> bool:
    """Whether an AWS error may pass if tried again: throttling, 5xx, timeouts, connections."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = str(error.get("Code", ""))
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return code in TRANSIENT_CODES or (
            isinstance(status, int) and (status >= 500 or status == 429)
        )
    name = type(exc).__name__
    return any(
        marker in name for marker in ("Timeout", "Connection", "EndpointConnection", "Throttl")
    )
