"""State stores: one behavioural suite for memory, SQLite and DynamoDB (moto's server), then
what persistence buys: a redelivered batch alerts once across cold starts and CLI runs."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, SHARED_DATA, STOP_LOGGING_AWSLOGS, boto3_client
from trailguard import aws_lambda
from trailguard.cli import main
from trailguard.delivery import DeliveryError, RetryPolicy
from trailguard.rules.errors import RuleSyntaxError
from trailguard.state import StateStore
from trailguard.state.dynamodb import DynamoDBStore, StateStoreError
from trailguard.state.memory import WINDOW_COST, MemoryStore
from trailguard.state.registry import build_store
from trailguard.state.spec import parse_state
from trailguard.state.sqlite import SqliteStore, SqliteStoreError
from trailguard.state.window import MAX_HITS, Window, apply_hit

TABLE = "trailguard-state"
CLOUDTRAIL_DELETE = (
    SHARED_DATA
    / "envelopes/s3/cloudtrail_log_files/stratus_aws.defense-evasion.cloudtrail-delete.json.gz"
)


def create_table(name: str = TABLE) -> Any:
    """The table as the Terraform module makes it: `pk` (string), TTL on `expires_at`."""
    dynamodb = boto3_client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    return dynamodb


def table_items(name: str = TABLE) -> dict[str, dict[str, Any]]:
    items = boto3_client("dynamodb").scan(TableName=name, ConsistentRead=True)["Items"]
    return {item["pk"]["S"]: item for item in items}


Opener = Callable[[], StateStore]


def opener(kind: str, request: pytest.FixtureRequest, tmp_path: Any) -> Opener:
    """Opens the store the configuration names; persistent ones on the same file or table,
    as a new process or container would (memory cannot: it is the same store)."""
    if kind == "memory":
        store = build_store(parse_state(None))
        return lambda: store
    if kind == "sqlite":
        spec = parse_state({"type": "sqlite", "path": str(tmp_path / "state" / "state.db")})
        return lambda: build_store(spec)
    request.getfixturevalue("aws")
    create_table()
    spec = parse_state({"type": "dynamodb", "table": TABLE})
    return lambda: build_store(spec)


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def open_store(request: pytest.FixtureRequest, tmp_path: Any) -> Opener:
    return opener(request.param, request, tmp_path)


@pytest.fixture
def store(open_store: Opener) -> StateStore:
    return open_store()


@pytest.fixture(params=["sqlite", "dynamodb"])
def persistent(request: pytest.FixtureRequest, tmp_path: Any) -> Opener:
    return opener(request.param, request, tmp_path)


# --- dedup keys --------------------------------------------------------------------------


def test_seen_until_the_expiry(store: StateStore) -> None:
    assert store.seen("a", 0.0) is False
    store.remember({"a": 100.0, "b": 200.5})
    assert [store.seen("a", t) for t in (0.0, 99.9, 100.0, 150.0)] == [True, True, False, False]
    assert [store.seen("b", t) for t in (200.4, 200.5)] == [True, False]
    assert store.seen("c", 0.0) is False


def test_remembering_again_moves_the_expiry(store: StateStore) -> None:
    store.remember({"a": 100.0})
    store.remember({"a": 300.0})
    assert store.seen("a", 250.0) is True
    store.remember({"a": 50.0})
    assert store.seen("a", 60.0) is False


def test_many_keys_at_once(store: StateStore) -> None:
    """More than one BatchWriteItem request (25 items) for DynamoDB."""
    store.remember({f"k{i}": 1000.0 + i for i in range(60)})
    assert all(store.seen(f"k{i}", 1000.0 + i - 0.5) for i in range(60))
    assert not any(store.seen(f"k{i}", 1000.0 + i) for i in range(60))


def test_nothing_to_remember(store: StateStore) -> None:
    store.remember({})
    assert store.seen("", 0.0) is False


# --- threshold windows -------------------------------------------------------------------


def test_counts_fire_once_and_start_afresh(store: StateStore) -> None:
    hits = [store.window_hit("k", t, 60, 3) for t in (0, 10, 20, 30, 40, 50, 200)]
    assert hits == [None, None, 3, None, None, 3, None]


def test_hits_spread_wider_than_the_window_do_not_fire(store: StateStore) -> None:
    assert [store.window_hit("w", t, 60, 3) for t in (0, 61, 122, 183)] == [None] * 4


def test_the_window_includes_both_ends(store: StateStore) -> None:
    assert [store.window_hit("k", t, 60, 2) for t in (0, 60)] == [None, 2]


def test_the_fullest_window_is_counted(store: StateStore) -> None:
    assert [store.window_hit("k", t, 60, 4) for t in (0, 50, 100, 105)] == [None] * 4
    assert store.window_hit("k", 55, 60, 4) == 4  # 50, 55, 100, 105 in [50, 110]


def test_keys_count_apart(store: StateStore) -> None:
    assert store.window_hit("a", 0, 60, 2) is None
    assert store.window_hit("b", 1, 60, 2) is None
    assert store.window_hit("other", 20, 60, 1) == 1
    assert store.window_hit("b", 2, 60, 2) == 2
    assert store.window_hit("a", 3, 60, 2) == 2


@pytest.mark.parametrize(
    ("minutes", "fires_at"),
    [
        ((8, 6, 4, 2, 0), 4),  # backwards
        ((0, 1, 2, 3, 30, 4), 5),  # a late hit completes an earlier burst
        ((10, 11, 12, 13, 0), 4),  # a late hit opens a window holding later ones
    ],
)
def test_out_of_order_hits(store: StateStore, minutes: tuple[int, ...], fires_at: int) -> None:
    results = [store.window_hit("k", m * 60.0, 900, 5) for m in minutes]
    assert results == [5 if i == fires_at else None for i in range(len(minutes))]


def test_hits_two_windows_older_than_the_latest_are_forgotten(store: StateStore) -> None:
    assert store.window_hit("k", 0, 60, 2) is None
    assert store.window_hit("k", 1000, 60, 2) is None
    assert store.window_hit("k", 30, 60, 2) is None  # 0 was forgotten when 1000 came
    assert store.window_hit("k", 900, 60, 2) is None  # 30 too late to be kept
    assert store.window_hit("k", 950, 60, 2) == 2  # with 900


def test_an_event_counts_once(store: StateStore) -> None:
    """A redelivered batch: the same event keys again do not count."""
    first = [store.window_hit("k", t, 60, 3, event_key=f"e{t}") for t in (0, 10)]
    again = [store.window_hit("k", t, 60, 3, event_key=f"e{t}") for t in (0, 10)]
    assert first == again == [None, None]
    assert store.window_hit("k", 20, 60, 3, event_key="e20") == 3
    # After firing the count starts afresh, forgetting which events it held.
    assert store.window_hit("k", 20, 60, 3, event_key="e20") is None
    assert store.window_hit("k", 21, 60, 3, event_key="e21") is None
    assert store.window_hit("k", 22, 60, 3, event_key="e0") == 3


def test_event_keys_are_per_key(store: StateStore) -> None:
    assert store.window_hit("a", 0, 60, 2, event_key="e") is None
    assert store.window_hit("b", 0, 60, 2, event_key="e") is None
    assert store.window_hit("b", 1, 60, 2, event_key="f") == 2


def test_hits_without_event_keys_all_count(store: StateStore) -> None:
    assert [store.window_hit("k", 5, 60, 3) for _ in range(3)] == [None, None, 3]


# --- persistence -------------------------------------------------------------------------


def test_keys_and_windows_outlive_the_store(persistent: Opener) -> None:
    first = persistent()
    first.remember({"a": 100.0})
    assert first.window_hit("k", 0, 60, 3, event_key="e0") is None
    assert first.window_hit("k", 10, 60, 3, event_key="e1") is None
    later = persistent()  # another process, another container
    assert later.seen("a", 50.0) is True
    assert later.window_hit("k", 5, 60, 3, event_key="e1") is None  # already counted
    assert later.window_hit("k", 20, 60, 3, event_key="e2") == 3


def test_two_writers_lose_no_hit(persistent: Opener) -> None:
    one, two = persistent(), persistent()
    assert [one.window_hit("k", 0, 60, 4), two.window_hit("k", 1, 60, 4)] == [None, None]
    assert [one.window_hit("k", 2, 60, 4), two.window_hit("k", 3, 60, 4)] == [None, 4]


# --- the window arithmetic ---------------------------------------------------------------


def test_a_window_is_bounded() -> None:
    window = Window()
    for t in range(MAX_HITS + 50):
        hit = apply_hit(window, float(t), 10**6, 10**6, event_key=f"e{t}")
        assert hit.fired is None
    assert window.hits == [float(t) for t in range(50, MAX_HITS + 50)]
    assert sorted(window.counted.values()) == window.hits


def test_a_repeated_event_leaves_the_window_unchanged() -> None:
    window = Window([0.0], {"e": 0.0})
    hit = apply_hit(window, 5.0, 60, 3, event_key="e")
    assert (hit.changed, hit.fired, window) == (False, None, Window([0.0], {"e": 0.0}))


class PlainWindow:
    """The window's rules written out plainly, with no shortcut: what `apply_hit` must do."""

    def __init__(self) -> None:
        self.hits: list[float] = []
        self.counted: dict[str, float] = {}

    def hit(self, at: float, seconds: int, threshold: int, event_key: str | None) -> int | None:
        if event_key is not None:
            if event_key in self.counted:
                return None
            self.counted[event_key] = at
        hits = sorted([*self.hits, at])
        hits = [h for h in hits if h >= hits[-1] - 2 * seconds][-MAX_HITS:]
        self.hits = hits
        self.counted = {e: t for e, t in self.counted.items() if t >= hits[0]}
        # The fullest window of `seconds` that holds `at`, starting at a hit.
        best = max(
            (
                sum(start <= h <= start + seconds for h in hits)
                for start in hits
                if at - seconds <= start <= at
            ),
            default=0,  # `at` itself fell behind the hits kept
        )
        if best >= threshold:
            self.hits, self.counted = [], {}
            return best
        return None


@settings(max_examples=300, deadline=None)
@given(
    hits=st.lists(
        st.tuples(
            st.one_of(st.integers(0, 400).map(float), st.floats(0, 400, allow_nan=False)),
            st.one_of(st.none(), st.sampled_from("abcdefgh")),
        ),
        max_size=40,
    ),
    seconds=st.sampled_from([1, 30, 60, 300]),
    threshold=st.integers(1, 8),
)
def test_the_window_counts_as_its_rules_say(
    hits: list[tuple[float, str | None]], seconds: int, threshold: int
) -> None:
    """In order or not, with repeated events and times: every hit gives the plain count, and
    the window keeps what the plain rules keep (the shortcuts for the newest hit change
    nothing)."""
    window, plain = Window(), PlainWindow()
    for at, key in hits:
        assert apply_hit(window, at, seconds, threshold, key).fired == plain.hit(
            at, seconds, threshold, key
        )
        assert (window.hits, window.counted) == (plain.hits, plain.counted)


# --- DynamoDB specifics ------------------------------------------------------------------


def no_wait(attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, sleep=lambda seconds: None)


def test_dynamodb_items_and_their_ttl(aws: str) -> None:
    """The item layout docs/configuration.md describes; the TTL attribute is configurable."""
    create_table()
    clock = iter([1_000_000.0, 1_000_001.0]).__next__
    store = DynamoDBStore(TABLE, boto3_client("dynamodb"), ttl_attribute="ttl", clock=clock)
    store.remember({"dedup": 2_000_000.25, "cooldown": 10.5})
    store.window_hit("rule\x1factor", 5.0, 60, 3, event_key="e1")
    assert table_items() == {
        "seen#dedup": {
            "pk": {"S": "seen#dedup"},
            "until": {"N": "2000000.25"},
            "ttl": {"N": "2000001"},
        },
        "seen#cooldown": {  # an old event's cooldown: kept a day after it was written
            "pk": {"S": "seen#cooldown"},
            "until": {"N": "10.5"},
            "ttl": {"N": "1086400"},
        },
        "window#rule\x1factor": {
            "pk": {"S": "window#rule\x1factor"},
            "hits": {"L": [{"N": "5.0"}]},
            "counted": {"M": {"e1": {"N": "5.0"}}},
            "version": {"N": "1"},
            "ttl": {"N": "1086521"},
        },
    }


def test_a_missing_table_says_what_to_create(aws: str) -> None:
    store = DynamoDBStore("nope", boto3_client("dynamodb"), policy=no_wait())
    with pytest.raises(StateStoreError) as caught:
        store.seen("a", 0.0)
    assert str(caught.value) == (
        "DynamoDB table 'nope' does not exist (in this account and region): create it "
        "(partition key `pk`, a string; the Terraform module does) or fix `state.table`, and "
        "let the function's role use dynamodb:GetItem, dynamodb:PutItem and "
        "dynamodb:BatchWriteItem on it"
    )


class Throttled:
    """The real client, but the first `times` calls of `operation` are throttled."""

    def __init__(self, client: Any, operation: str, times: int) -> None:
        self.client, self.operation, self.times = client, operation, times
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name != self.operation:
            return method

        def call(**request: Any) -> Any:
            from botocore.exceptions import ClientError

            self.calls += 1
            if self.calls <= self.times:
                error = {"Code": "ThrottlingException", "Message": "Rate of requests exceeds"}
                raise ClientError({"Error": error, "ResponseMetadata": {}}, name)
            return method(**request)

        return call


def test_throttling_is_retried(aws: str) -> None:
    create_table()
    client = Throttled(boto3_client("dynamodb"), "get_item", times=3)
    store = DynamoDBStore(TABLE, client, policy=no_wait())
    assert store.seen("a", 0.0) is False
    assert client.calls == 4


def test_throttling_that_persists_fails_the_invocation(aws: str) -> None:
    create_table()
    client = Throttled(boto3_client("dynamodb"), "get_item", times=4)
    store = DynamoDBStore(TABLE, client, policy=no_wait())
    with pytest.raises(StateStoreError) as caught:
        store.seen("a", 0.0)
    assert client.calls == 4
    assert str(caught.value) == (
        f"DynamoDB table '{TABLE}': GetItem still failing after 4 attempts (ThrottlingException:"
        " An error occurred (ThrottlingException) when calling the get_item operation: Rate of "
        "requests exceeds); the invocation fails so that AWS retries the batch"
    )


class Unprocessing:
    """The real client, but BatchWriteItem leaves the last `left` items unprocessed, `times`
    times (as DynamoDB does when throttled), without writing them."""

    def __init__(self, client: Any, left: int, times: int) -> None:
        self.client, self.left, self.times = client, left, times
        self.sent: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> Any:  # noqa: N803
        ((table, requests),) = RequestItems.items()
        self.sent.append(len(requests))
        if len(self.sent) > self.times:
            return self.client.batch_write_item(RequestItems=RequestItems)
        if requests[: -self.left]:
            done = self.client.batch_write_item(RequestItems={table: requests[: -self.left]})
            assert not done["UnprocessedItems"]
        return {"UnprocessedItems": {table: requests[-self.left :]}}


def test_unprocessed_items_are_written_again(aws: str) -> None:
    create_table()
    client = Unprocessing(boto3_client("dynamodb"), left=2, times=2)
    store = DynamoDBStore(TABLE, client, policy=no_wait())
    store.remember({f"k{i}": 100.0 for i in range(5)})
    assert client.sent == [5, 2, 2]
    assert sorted(table_items()) == [f"seen#k{i}" for i in range(5)]


def test_unprocessed_items_that_stay_fail_the_invocation(aws: str) -> None:
    create_table()
    client = Unprocessing(boto3_client("dynamodb"), left=1, times=4)
    store = DynamoDBStore(TABLE, client, policy=no_wait())
    with pytest.raises(StateStoreError, match=r"1 key\(s\) still unprocessed after 4 Batch"):
        store.remember({"a": 100.0, "b": 100.0})


class Racing:
    """The real client; before the first window write, `rival` runs (another container)."""

    def __init__(self, client: Any, rival: Callable[[], Any]) -> None:
        self.client, self.rival = client, rival
        self.puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def put_item(self, **request: Any) -> Any:
        self.puts += 1
        if self.puts == 1:
            self.rival()
        return self.client.put_item(**request)


@pytest.mark.parametrize("prior", [0, 1])
def test_a_window_written_meanwhile_is_counted_again(aws: str, prior: int) -> None:
    """Two containers count at once: the write that lost re-reads the window and counts on
    it, so both hits count and the burst fires exactly once (with or without an item yet)."""
    create_table()
    rival = DynamoDBStore(TABLE, boto3_client("dynamodb"))
    for t in range(prior):
        assert rival.window_hit("k", float(t), 60, 2 + prior, event_key=f"p{t}") is None
    rival_result: list[int | None] = []
    client = Racing(
        boto3_client("dynamodb"),
        lambda: rival_result.append(rival.window_hit("k", 20.0, 60, 2 + prior, event_key="b")),
    )
    store = DynamoDBStore(TABLE, client, policy=no_wait())
    assert store.window_hit("k", 10.0, 60, 2 + prior, event_key="a") == 2 + prior
    assert rival_result == [None]
    assert client.puts == 2  # the first write lost to the rival's
    assert table_items()["window#k"]["hits"] == {"L": []}  # fired: afresh


@pytest.mark.parametrize(
    ("options", "key", "problem"),
    [
        ({}, "state.table", "required for a dynamodb store"),
        (
            {"table": "x"},
            "state.table",
            "'x' is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)",
        ),
        ({"table": 5}, "state.table", "wrong type int"),
        ({"table": TABLE, "ttl_attribute": ""}, "state.ttl_attribute", "must not be empty"),
        (
            {"table": TABLE, "region": "x"},
            "state.region",
            "unknown key for a dynamodb store; allowed: type, table, ttl_attribute",
        ),
    ],
)
def test_dynamodb_options_are_checked(options: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_state({"type": "dynamodb", **options})
    assert (caught.value.field, caught.value.problem) == (key, problem)


def test_a_table_arn_is_a_table_name() -> None:
    arn = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{TABLE}"
    assert parse_state({"type": "dynamodb", "table": arn}).options == {"table": arn}


# --- SQLite specifics --------------------------------------------------------------------


def test_sqlite_makes_its_folder_and_runs_in_wal_mode(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = build_store(parse_state({"type": "sqlite", "path": "~/cache/tg/state.db"}))
    assert isinstance(store, SqliteStore)
    assert not (tmp_path / "cache").exists()  # made on first use
    store.remember({"a": 10.0})
    path = tmp_path / "cache" / "tg" / "state.db"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA user_version").fetchone() == (1,)


def test_sqlite_prunes_expired_rows(tmp_path: Any) -> None:
    now = [1_000_000.0]
    store = SqliteStore(tmp_path / "state.db", clock=lambda: now[0])
    store.remember({"old-event-cooldown": 10.0, "dedup": now[0] + 7 * 86400})
    store.window_hit("k", 5.0, 60, 3)
    now[0] += 86400 + 121  # a day and two windows later
    store.prune()
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT key FROM seen").fetchall() == [("dedup",)]
        assert db.execute("SELECT count(*) FROM windows").fetchone() == (0,)
    store.close()


def test_sqlite_that_cannot_open_says_what_to_check(tmp_path: Any) -> None:
    (tmp_path / "state.db").mkdir()
    store = SqliteStore(tmp_path / "state.db")
    with pytest.raises(SqliteStoreError, match=r"cannot use the state file .*change `state.path`"):
        store.seen("a", 0.0)


def test_a_state_file_that_cannot_be_used_is_a_cli_error_not_a_traceback(
    tmp_path: Any, capsys: Any
) -> None:
    (tmp_path / "state.db").mkdir()  # a folder where the file should be
    config = tmp_path / "trailguard.yaml"
    config.write_text(f"state: {{type: sqlite, path: '{tmp_path / 'state.db'}'}}\n")
    status = main(["scan", "--config", str(config), str(CLOUDTRAIL_DELETE)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"trailguard: error: cannot use the state file {tmp_path / 'state.db'}")
    assert err.rstrip().endswith("or change `state.path`")
    assert "Traceback" not in err


# --- Lambda and CLI ----------------------------------------------------------------------


@pytest.fixture
def lambda_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Callable[[str], None]:
    def use(text: str) -> None:
        path = tmp_path / "trailguard.yaml"
        path.write_text(text)
        monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(path))
        monkeypatch.setattr(aws_lambda, "_runtime", None)

    return use


def dynamodb_config(out: Any) -> str:
    return f"""
packs: {{catalog: false, cis: false}}
state: {{type: dynamodb, table: {TABLE}}}
sinks:
  - {{type: file, name: archive, path: "{out}"}}
"""


def test_a_redelivered_batch_alerts_once_across_a_cold_start(
    aws: str, lambda_config: Callable[[str], None], tmp_path: Any, capsys: Any
) -> None:
    create_table()
    out = tmp_path / "alerts.jsonl"
    lambda_config(dynamodb_config(out))
    event = json.loads(STOP_LOGGING_AWSLOGS.read_text())
    first = aws_lambda.handler(event, None)
    aws_lambda._runtime = None  # a new container: nothing in memory
    again = aws_lambda.handler(event, None)
    capsys.readouterr()
    assert (first["alerts"], first["delivered"], first["duplicates"]) == (1, {"archive": 1}, 0)
    assert (again["alerts"], again["delivered"], again["duplicates"]) == (0, {}, 1)
    (alert,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert alert["rule_id"] == "threats.cloudtrail_stopped"
    assert sorted(table_items()) == [f"seen#{alert['alert_id']}"]


def test_a_failed_delivery_remembers_nothing(
    aws: str, lambda_config: Callable[[str], None], tmp_path: Any, capsys: Any
) -> None:
    create_table()
    out = tmp_path / "out"
    out.mkdir()  # a folder: the file sink cannot write there
    lambda_config(dynamodb_config(out))
    event = json.loads(STOP_LOGGING_AWSLOGS.read_text())
    with pytest.raises(DeliveryError, match="sink 'archive': 1 alert"):
        aws_lambda.handler(event, None)
    assert table_items() == {}
    out.rmdir()
    aws_lambda._runtime = None  # AWS retries, in another container
    summary = aws_lambda.handler(event, None)
    capsys.readouterr()
    assert (summary["alerts"], summary["delivered"], summary["duplicates"]) == (
        1,
        {"archive": 1},
        0,
    )
    assert len(out.read_text().splitlines()) == 1


def test_scan_with_a_sqlite_store_reports_each_alert_once(tmp_path: Any, capsys: Any) -> None:
    config = tmp_path / "trailguard.yaml"
    config.write_text(
        "packs: {catalog: false, cis: false}\n"
        f'state: {{type: sqlite, path: "{tmp_path / "cache" / "state.db"}"}}\n'
    )
    args = ["scan", str(CLOUDTRAIL_DELETE), "--format", "json", "--config", str(config)]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert [a["rule_id"] for a in first["alerts"]] == ["threats.cloudtrail_deleted"]
    assert (first["summary"]["findings"], first["summary"]["duplicates"]) == (1, 0)
    assert second["alerts"] == []
    assert (second["summary"]["findings"], second["summary"]["duplicates"]) == (0, 1)


def test_the_documented_state_examples_load() -> None:
    text = (REPO / "docs" / "configuration.md").read_text()
    section = text[text.index("\n## State\n") :]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    kinds = [parse_state(yaml.safe_load(block)["state"]).kind for block in blocks]
    assert kinds == ["dynamodb", "sqlite"]


def test_the_memory_store_keeps_two_generations_of_dedup_keys() -> None:
    """Bounded in a long-lived Lambda container: the oldest generation is forgotten."""
    store = MemoryStore(generation=3)
    for index in range(3):
        store.remember({f"k{index}": 100.0})
    assert all(store.seen(f"k{i}", 50.0) for i in range(3))  # now the older generation
    store.remember({"k3": 100.0, "k4": 100.0, "k5": 100.0})
    assert not store.seen("k0", 50.0)  # two generations later: forgotten
    assert all(store.seen(f"k{i}", 50.0) for i in range(3, 6))
    assert not store.seen("k5", 150.0)  # expired


def test_the_memory_store_forgets_spent_windows_first() -> None:
    """Full: windows whose hits are two windows behind the newest hit go, and nothing that
    could still fire is lost."""
    store = MemoryStore(hits_limit=10 * (1 + WINDOW_COST) + 4)  # room for ten windows of one
    for index in range(8):  # eight sources, one denied call each, long ago
        assert store.window_hit(f"old{index}", 0.0, 60, 2) is None
    assert store.window_hit("live", 1000.0, 60, 2) is None
    assert store.window_hit("live2", 1000.0, 60, 2) is None
    assert store.window_hit("live3", 1001.0, 60, 2) is None  # the eleventh: over the limit
    assert store.windows_dropped == 0
    assert store.window_hit("old0", 0.0, 60, 2) is None  # its first hit was forgotten
    assert store.window_hit("live", 1010.0, 60, 2) == 2  # the live ones still count


def test_a_flood_of_groups_keeps_the_memory_store_bounded() -> None:
    """Thousands of distinct source addresses within one window: the least recently hit
    windows go, and each one lost is counted."""
    store = MemoryStore(hits_limit=100)
    for index in range(1000):
        assert store.window_hit(f"ip{index}", 1000.0 + index / 1000, 600, 5) is None
        assert store._held() <= 100  # hits, and each window's own cost
    assert len(store._windows) <= 100 // (1 + WINDOW_COST)
    assert store.windows_dropped == 1000 - len(store._windows)
    assert store.windows_dropped > 0
    assert [store.window_hit("ip999", 1001.0, 600, 2)] == [2]  # a recent one is kept
    assert store.window_hit("ip0", 1001.0, 600, 2) is None  # the oldest was dropped
