"""A DynamoDB store: dedup and thresholds that hold across Lambda containers and cold starts.

    state: {type: dynamodb, table: trailguard-state}

One table, partition key `pk` (string), TTL on `expires_at`. Two kinds of item:

- `seen#KEY`: a dedup or cooldown key; `until` (number) is when it expires, exactly.
- `window#KEY`: a threshold window; `hits` (list of numbers), `counted` (event key to time)
  and `version`, which every write checks, so containers counting at once lose no hit.

`expires_at` (epoch seconds) only lets DynamoDB delete items it no longer needs; deletion is
lazy, so reads compare `until` themselves. Throttling and 5xx are retried a few times, then
raised: the invocation fails and AWS retries the batch.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from trailguard import aws
from trailguard.delivery import RetryPolicy
from trailguard.rules.errors import RuleSyntaxError
from trailguard.state import StateError
from trailguard.state.window import Window, apply_hit

if TYPE_CHECKING:
    from trailguard.state.spec import StateSpec

OPTIONS = ("table", "ttl_attribute")
DEFAULT_TTL_ATTRIBUTE = "expires_at"
IAM_ACTIONS = "dynamodb:GetItem, dynamodb:PutItem and dynamodb:BatchWriteItem"
BATCH = 25
"""BatchWriteItem's limit of items per request."""
GRACE_SECONDS = 86400
"""Items outlive their use by a day, so late records (and backfills of old events) still
find their keys before DynamoDB deletes them."""
CONFLICT_ATTEMPTS = 10
"""Tries of a window update that other containers keep changing under it."""
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}|arn:aws[\w-]*:dynamodb:.+:table/.+")


class StateStoreError(StateError):
    """The store cannot be read or written; the message says what to check."""


def validate(spec: StateSpec) -> None:
    table = spec.option("table")
    if not TABLE_NAME.fullmatch(table):
        raise RuleSyntaxError(
            "state.table", f"{table!r} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"
        )
    ttl = spec.option("ttl_attribute", required=False)
    if ttl is not None and not ttl:
        raise RuleSyntaxError("state.ttl_attribute", "must not be empty")


def build(spec: StateSpec, clients: Mapping[str, Any]) -> DynamoDBStore:
    client = aws.client("dynamodb", clients.get("dynamodb"))
    ttl = spec.option("ttl_attribute", required=False) or DEFAULT_TTL_ATTRIBUTE
    return DynamoDBStore(spec.option("table"), client, ttl_attribute=ttl)


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code", ""))
    return ""


def _number(value: float) -> dict[str, str]:
    return {"N": repr(float(value))}


class DynamoDBStore:
    def __init__(
        self,
        table: str,
        client: Any,
        *,
        ttl_attribute: str = DEFAULT_TTL_ATTRIBUTE,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.client = client
        self.ttl_attribute = ttl_attribute
        self.policy = policy or RetryPolicy(base_seconds=0.1, cap_seconds=2.0)
        self.clock = clock

    def seen(self, key: str, now: float) -> bool:
        item = self._get(f"seen#{key}")
        return item is not None and float(item["until"]["N"]) > now

    def remember(self, expiries: Mapping[str, float]) -> None:
        now = self.clock()
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"seen#{key}"},
                        "until": _number(until),
                        self.ttl_attribute: self._ttl(max(until, now + GRACE_SECONDS)),
                    }
                }
            }
            for key, until in expiries.items()
        ]
        for start in range(0, len(requests), BATCH):
            self._batch_write(requests[start : start + BATCH])

    def window_hit(
        self,
        key: str,
        at: float,
        window_seconds: int,
        threshold: int,
        event_key: str | None = None,
    ) -> int | None:
        """As `StateStore.window_hit`; a write that lost a race with another container is
        redone on the window it lost to, so every hit counts once and a burst fires once."""
        pk = f"window#{key}"
        for attempt in range(CONFLICT_ATTEMPTS):
            item = self._get(pk)
            version = int(item["version"]["N"]) if item else 0
            window = _window(item)
            hit = apply_hit(window, at, window_seconds, threshold, event_key)
            if not hit.changed or (hit.fired is not None and item is None):
                return hit.fired  # nothing stored to change
            expires = self.clock() + 2 * window_seconds + GRACE_SECONDS
            if self._put_window(pk, window, version, expires):
                return hit.fired
            self.policy.sleep(self.policy.jitter(0.05 * (attempt + 1)))
        raise StateStoreError(
            f"DynamoDB table {self.table!r}: the threshold window {key!r} kept changing under "
            f"{CONFLICT_ATTEMPTS} updates; the invocation fails so that AWS retries the batch"
        )

    def _ttl(self, moment: float) -> dict[str, str]:
        return {"N": str(math.ceil(moment))}

    def _get(self, pk: str) -> dict[str, Any] | None:
        response = self._call(
            "GetItem", TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _put_window(self, pk: str, window: Window, version: int, expires: float) -> bool:
        """Write `window` if the item is still at `version`; False if another writer won."""
        item = {
            "pk": {"S": pk},
            "hits": {"L": [_number(t) for t in window.hits]},
            "counted": {"M": {e: _number(t) for e, t in window.counted.items()}},
            "version": {"N": str(version + 1)},
            self.ttl_attribute: self._ttl(expires),
        }
        if version:
            condition: dict[str, Any] = {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(version)}},
            }
        else:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        try:
            self._call("PutItem", TableName=self.table, Item=item, **condition)
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending = requests
        for attempt in range(self.policy.attempts):
            response = self._call("BatchWriteItem", RequestItems={self.table: pending})
            pending = (response.get("UnprocessedItems") or {}).get(self.table) or []
            if not pending:
                return
            if attempt + 1 < self.policy.attempts:
                self.policy.sleep(self.policy.delay(attempt, None))
        raise StateStoreError(
            f"DynamoDB table {self.table!r}: {len(pending)} key(s) still unprocessed after "
            f"{self.policy.attempts} BatchWriteItem attempts (throttled: raise the table's "
            "capacity or use on-demand); the invocation fails so that AWS retries the batch"
        )

    def _call(self, operation: str, **request: Any) -> Any:
        """One DynamoDB call: throttling and 5xx retried, then raised with what to check."""
        method = getattr(self.client, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
        for attempt in range(self.policy.attempts):
            try:
                return method(**request)
            except Exception as exc:
                code = _error_code(exc)
                if code == "ResourceNotFoundException":
                    raise StateStoreError(
                        f"DynamoDB table {self.table!r} does not exist (in this account and "
                        "region): create it (partition key `pk`, a string; the Terraform module "
                        "does) or fix `state.table`, and let the function's role use "
                        f"{IAM_ACTIONS} on it"
                    ) from exc
                if code in ("AccessDeniedException", "UnrecognizedClientException"):
                    raise StateStoreError(
                        f"DynamoDB table {self.table!r}: {operation} was denied ({exc}); the "
                        f"function's role needs {IAM_ACTIONS} on the table (and kms:Decrypt, "
                        "kms:GenerateDataKey on its key if it uses a customer managed key)"
                    ) from exc
                if not aws.is_transient(exc):
                    raise
                if attempt + 1 == self.policy.attempts:
                    raise StateStoreError(
                        f"DynamoDB table {self.table!r}: {operation} still failing after "
                        f"{self.policy.attempts} attempts ({code or type(exc).__name__}: {exc}); "
                        "the invocation fails so that AWS retries the batch"
                    ) from exc
                self.policy.sleep(self.policy.delay(attempt, None))
        raise AssertionError("unreachable")  # pragma: no cover


def _window(item: dict[str, Any] | None) -> Window:
    if item is None:
        return Window()
    hits = [float(value["N"]) for value in item.get("hits", {}).get("L", [])]
    counted = {e: float(v["N"]) for e, v in item.get("counted", {}).get("M", {}).items()}
    return Window(sorted(hits), counted)
