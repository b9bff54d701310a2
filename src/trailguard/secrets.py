"""Secrets by reference, never by value: Secrets Manager or SSM SecureString.

A reference is `secretsmanager:NAME-OR-ARN` (optionally `#json-key` for one field of a JSON
secret) or `ssm:/parameter/name` (decrypted). Values are cached for the container's life,
so a cold start picks up a rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from trailguard import aws

SECRETS_MANAGER = "secretsmanager:"
SSM = "ssm:"
REFERENCE_FORMS = "`secretsmanager:NAME-OR-ARN[#json-key]` or `ssm:/parameter/name`"


class SecretError(ValueError):
    """A secret reference that is malformed or cannot be read; says what to check."""


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith((SECRETS_MANAGER, SSM))


class SecretResolver:
    """Reads secret references with injected clients, caching each value."""

    def __init__(
        self,
        secretsmanager: Any | None = None,
        ssm: Any | None = None,
    ) -> None:
        self._clients: dict[str, Callable[[], Any]] = {
            "secretsmanager": lambda: aws.client("secretsmanager", secretsmanager),
            "ssm": lambda: aws.client("ssm", ssm),
        }
        self._cache: dict[str, str] = {}

    def resolve(self, reference: str) -> str:
        if reference not in self._cache:
            self._cache[reference] = self._read(reference)
        return self._cache[reference]

    def _read(self, reference: str) -> str:
        if reference.startswith(SECRETS_MANAGER):
            name, _, key = reference[len(SECRETS_MANAGER) :].partition("#")
            value = self._call(reference, "secretsmanager", "get_secret_value", SecretId=name)
            text = value.get("SecretString")
            if not isinstance(text, str):
                raise SecretError(f"{reference}: the secret has no string value")
            return _json_field(reference, text, key) if key else text
        if reference.startswith(SSM):
            name = reference[len(SSM) :]
            value = self._call(reference, "ssm", "get_parameter", Name=name, WithDecryption=True)
            parameter = value.get("Parameter") or {}
            if parameter.get("Type") != "SecureString":
                raise SecretError(
                    f"{reference}: parameter type is {parameter.get('Type')!r}; store secrets "
                    "as SecureString so they are encrypted at rest"
                )
            return str(parameter.get("Value", ""))
        raise SecretError(f"{reference!r} is not a secret reference; use {REFERENCE_FORMS}")

    def _call(self, reference: str, service: str, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._clients[service](), method)(**kwargs)
        except aws.AwsUnavailableError:
            raise
        except Exception as exc:
            raise SecretError(
                f"cannot read {reference}: {type(exc).__name__}: {exc}; check that it exists "
                "and that the function's role may read (and decrypt) it"
            ) from None
        return response


def _json_field(reference: str, text: str, key: str) -> str:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise SecretError(
            f"{reference}: the secret is not JSON, so #{key} cannot be read"
        ) from None
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, str):
        raise SecretError(f"{reference}: the JSON secret has no string field {key!r}")
    return value
