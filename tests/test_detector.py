"""The rule index and the detector: a record meets only the rules that can match it, findings
come in rule load order, and thresholds count matches per group over event-time windows.

Rules are built here (never taken from the packs); records are real ones from the shared data,
re-timed where a test needs a burst.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import pytest

from conftest import SHARED_DATA, with_event_id
from trailguard import aws_lambda, metrics
from trailguard.config import Config, RuleOverride
from trailguard.engine import Engine
from trailguard.model import Finding, Place, Severity, SourcedRecord, Threshold
from trailguard.pipeline import Detector, event_epoch
from trailguard.rules import default_catalog
from trailguard.rules.context import RecordContext
from trailguard.rules.loader import load_rules, rule_from_data
from trailguard.rules.rule import Rule
from trailguard.rules.ruleset import RuleSet
from trailguard.state.memory import MemoryStore
from trailguard.tally import InputTally

PLACE = Place("tests/test_detector.py")
START = dt.datetime(2022, 11, 10, 16, 24, 34, tzinfo=dt.UTC)


def catalogued(file: str, line: int) -> dict[str, Any]:
    """The CloudTrail record on `line` (1-based) of an events/*.jsonl catalogue."""
    entry = orjson.loads((SHARED_DATA / "events" / file).read_text().splitlines()[line - 1])
    record = entry["event"]
    assert isinstance(record, dict)
    return record


CONSOLE_FAILURE = catalogued("awsdocs_userguide_events.jsonl", 3)
"""A failed console sign-in by IAM user anaya (CloudTrail user guide), at 2022-11-10T16:24:34Z."""
PASSWORD_DATA = catalogued("stratus_detonations.jsonl", 1)
DELETE_TRAIL = catalogued("stratus_detonations.jsonl", 116)
STOP_LOGGING = catalogued("stratus_detonations.jsonl", 118)
LAMBDA_CODE = catalogued("stratus_detonations.jsonl", 305)


def test_the_records_are_the_ones_described() -> None:
    assert CONSOLE_FAILURE["responseElements"] == {"ConsoleLogin": "Failure"}
    assert CONSOLE_FAILURE["userIdentity"]["userName"] == "anaya"
    assert CONSOLE_FAILURE["eventTime"] == "2022-11-10T16:24:34Z"
    assert [r["eventName"] for r in (PASSWORD_DATA, DELETE_TRAIL, STOP_LOGGING, LAMBDA_CODE)] == [
        "GetPasswordData",
        "DeleteTrail",
        "StopLogging",
        "UpdateFunctionCode20150331v2",
    ]


def make_rule(rule_id: str, match: dict[str, Any] | None = None, **fields: Any) -> Rule:
    data: dict[str, Any] = {
        "id": rule_id,
        "title": f"Rule {rule_id}",
        "description": "A rule built by the test.",
        "severity": "medium",
        **fields,
    }
    if match is not None:
        data["match"] = match
    return rule_from_data(data, "tests/test_detector.py")


def items(records: Iterable[dict[str, Any]]) -> list[SourcedRecord]:
    """Each record a distinct event, as CloudTrail writes them (the detector drops repeats of
    one eventID), unless the test gave it an eventID of its own."""
    return [
        SourcedRecord(with_event_id(r), PLACE.child(f"records[{i}]")) for i, r in enumerate(records)
    ]


def run(detector: Detector, records: Iterable[dict[str, Any]]) -> list[Finding]:
    tally = InputTally()
    findings = list(detector.run(items(records), tally))
    assert not tally.errors, [e.message() for e in tally.errors]
    return findings


def detector_for(*rules: Rule, config: Config | None = None, **kwargs: Any) -> Detector:
    return Detector(Engine([RuleSet("test", rules)]), config, **kwargs)


# --- the index ---------------------------------------------------------------------------------


def generated_rules() -> list[Rule]:
    """1,000 rules: 960 on distinct event names (even ones also on a source), 30 on a source
    alone, 10 on conditions alone."""
    rules = []
    for i in range(1000):
        match: dict[str, Any]
        if i < 960:
            match = {"event_name": f"Event{i}"}
            if i % 2 == 0:
                match["event_source"] = f"svc{i % 8}.amazonaws.com"
        elif i < 990:
            match = {"event_source": f"src{i}.amazonaws.com"}
        else:
            match = {"where": {"awsRegion": f"region-{i}"}}
        rules.append(make_rule(f"gen.rule_{i}", match))
    return rules


GENERATED = RuleSet("gen", generated_rules())
UNINDEXED = [f"gen.rule_{i}" for i in range(990, 1000)]


def candidate_ids(ruleset: RuleSet, source: Any, name: Any) -> list[str]:
    record = {"eventSource": source, "eventName": name, "awsRegion": "region-995"}
    return [rule.rule_id for rule, _ in ruleset.candidates(RecordContext(record))]


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ("svc2.amazonaws.com", "Event10", ["gen.rule_10", *UNINDEXED]),  # name and source
        ("svc3.amazonaws.com", "Event10", UNINDEXED),  # right name, wrong source
        ("svc3.amazonaws.com", "Event11", ["gen.rule_11", *UNINDEXED]),  # name only
        ("src970.amazonaws.com", "Event11", ["gen.rule_11", "gen.rule_970", *UNINDEXED]),
        ("src970.amazonaws.com", "Nothing", ["gen.rule_970", *UNINDEXED]),
        ("svc3.amazonaws.com", "Event11" + "20150331v2", ["gen.rule_11", *UNINDEXED]),
        ("nowhere.amazonaws.com", "Nothing", UNINDEXED),
        (None, None, UNINDEXED),
        (["svc2.amazonaws.com"], {"a": 1}, UNINDEXED),
    ],
)
def test_a_record_meets_only_its_candidate_rules(
    source: Any, name: Any, expected: list[str]
) -> None:
    assert len(GENERATED.rules) == 1000
    assert candidate_ids(GENERATED, source, name) == expected


def test_candidates_lose_no_match() -> None:
    """Whatever the index leaves out could not have matched: same findings as trying them all."""
    for source, name in [
        ("svc2.amazonaws.com", "Event10"),
        ("svc0.amazonaws.com", "Event8"),
        ("src989.amazonaws.com", "Event959"),
        ("svc1.amazonaws.com", "Event1"),
        ("x", "Event999"),
    ]:
        for region in ("region-990", "region-999", "elsewhere"):
            ctx = RecordContext({"eventSource": source, "eventName": name, "awsRegion": region})
            everything = [r.rule_id for r in GENERATED.rules if r.matches(ctx)]
            indexed = [
                r.rule_id
                for r, left in GENERATED.candidates(ctx)
                if left is None or left.test(ctx)  # what is left once the kind is known
            ]
            assert indexed == everything
            assert len(GENERATED.candidates(ctx)) <= 12


def test_findings_follow_load_order_whatever_index_found_them() -> None:
    """Each rule sits in a different index; all built with the default ordinal."""
    record = copy.deepcopy(STOP_LOGGING)
    rules = [
        make_rule("order.conditions_only", {"where": {"eventName": {"exists": True}}}),
        make_rule(
            "order.pair",
            {"event_source": "cloudtrail.amazonaws.com", "event_name": "StopLogging"},
        ),
        make_rule("order.source", {"event_source": "cloudtrail.amazonaws.com"}),
        make_rule("order.name", {"event_name": "StopLogging"}),
    ]
    assert {rule.ordinal for rule in rules} == {0}
    ids = [f.rule_id for f in RuleSet("p", rules).evaluate(record, PLACE)]
    assert ids == [rule.rule_id for rule in rules]
    reverse = list(reversed(rules))
    ids = [f.rule_id for f in RuleSet("p", reverse).evaluate(record, PLACE)]
    assert ids == [rule.rule_id for rule in reverse]


def test_findings_follow_file_order(tmp_path: Any) -> None:
    (tmp_path / "rules.yaml").write_text(
        """
rules:
  - {id: f.b_source, title: B, description: d, severity: low,
     match: {event_source: cloudtrail.amazonaws.com}}
  - {id: f.a_unindexed, title: A, description: d, severity: low, match: {where: {readOnly: false}}}
  - {id: f.c_pair, title: C, description: d, severity: low,
     match: {event_source: cloudtrail.amazonaws.com, event_name: StopLogging}}
""",
        encoding="utf-8",
    )
    ruleset = RuleSet("f", load_rules(tmp_path / "rules.yaml"))
    assert [f.rule_id for f in ruleset.evaluate(STOP_LOGGING, PLACE)] == [
        "f.b_source",
        "f.a_unindexed",
        "f.c_pair",
    ]


def test_disabled_rules_are_not_indexed() -> None:
    on = make_rule("x.on", {"event_name": "StopLogging"})
    off = make_rule("x.off", {"event_name": "StopLogging"}, enabled=False)
    ruleset = RuleSet("x", [on, off])
    assert [r.rule_id for r in ruleset.rules] == ["x.on"]
    assert [r.rule_id for r, _ in ruleset.candidates(RecordContext(STOP_LOGGING))] == ["x.on"]


def test_a_rule_its_event_rules_out_is_no_candidate() -> None:
    """Conditions on eventName are decided once per kind of event: the rule drops out for
    DeleteTrail, and for StopLogging nothing is left to test per record."""
    rule = make_rule(
        "x.stop_only",
        {"event_name": ["StopLogging", "DeleteTrail"], "where": {"eventName": "StopLogging"}},
    )
    ruleset = RuleSet("x", [rule])
    assert ruleset.candidates(RecordContext(DELETE_TRAIL)) == ()
    assert ruleset.candidates(RecordContext(STOP_LOGGING)) == ((rule, None),)
    findings = ruleset.evaluate(STOP_LOGGING, PLACE)
    assert [f.context for f in findings] == [{"matched": {"eventName": ["StopLogging"]}}]


def test_event_name_index_tolerates_api_versions() -> None:
    written_with_version = make_rule(
        "l.code",
        {"event_source": "lambda.amazonaws.com", "event_name": "UpdateFunctionCode20150331"},
    )
    plain = make_rule("l.plain", {"event_name": "UpdateFunctionCode"})
    ruleset = RuleSet("l", [written_with_version, plain])
    for name in (
        "UpdateFunctionCode20150331v2",
        "UpdateFunctionCode",
        "UpdateFunctionCode20240101",
    ):
        record = {**LAMBDA_CODE, "eventName": name}
        assert [f.rule_id for f in ruleset.evaluate(record, PLACE)] == ["l.code", "l.plain"]
    other = {**LAMBDA_CODE, "eventName": "UpdateFunctionConfiguration20150331v2"}
    assert ruleset.evaluate(other, PLACE) == []


def test_a_finding_carries_the_rule_and_its_evidence() -> None:
    rule = make_rule(
        "t.stop",
        {
            "event_source": "cloudtrail.amazonaws.com",
            "event_name": "StopLogging",
            "where": {"requestParameters.name": {"prefix": "stratus-"}},
        },
        title="Trail stopped: {requestParameters.name}",
        description="Logging stopped.",
        severity="high",
        severity_when=[{"when": {"userIdentity.type": "Root"}, "severity": "critical"}],
        references={"pci_dss": ["10.2.1.6"], "cis_aws": ["1.4.0/4.5"]},
        runbook="Restart logging.",
        tags=["defense-evasion", "audit-logging"],
    )
    (finding,) = RuleSet("t", [rule]).evaluate(STOP_LOGGING, PLACE)
    assert finding == Finding(
        rule_id="t.stop",
        severity=Severity.HIGH,
        title="Trail stopped: stratus-red-team-ct-stop-trail-buykxbqejv",
        record=STOP_LOGGING,
        place=PLACE,
        description="Logging stopped.",
        references=("PCI DSS v4.0/10.2.1.6", "CIS AWS Foundations Benchmark v1.4.0/4.5"),
        tags=("audit-logging", "defense-evasion"),
        runbook="Restart logging.",
        context={
            "matched": {"requestParameters.name": ["stratus-red-team-ct-stop-trail-buykxbqejv"]}
        },
        threshold=None,
    )
    root = {**STOP_LOGGING, "userIdentity": {"type": "Root", "accountId": "1"}}
    (finding,) = RuleSet("t", [rule]).evaluate(root, PLACE)
    assert finding.severity is Severity.CRITICAL


def test_a_finding_without_a_condition_has_no_context() -> None:
    (finding,) = RuleSet("t", [make_rule("t.any", {"event_name": "StopLogging"})]).evaluate(
        STOP_LOGGING, PLACE
    )
    assert finding.context is None


# --- thresholds ----------------------------------------------------------------------------------

FAILED_LOGINS: dict[str, Any] = {
    "event_source": "signin.amazonaws.com",
    "event_name": "ConsoleLogin",
    "outcome": "any",  # a failed sign-in carries no errorCode
    "where": {"responseElements.ConsoleLogin": "Failure"},
}


def failed_logins_rule(window: str = "15m", count: int = 5, **threshold: Any) -> Rule:
    return make_rule(
        "t.console_failures",
        FAILED_LOGINS,
        title="Console sign-in failures: {userIdentity.userName}",
        threshold={"count": count, "window": window, **threshold},
    )


def login_failure(seconds: float, user: str = "anaya", **fields: Any) -> dict[str, Any]:
    """The user guide's failed sign-in, `seconds` after its own time, by `user`."""
    record = copy.deepcopy(CONSOLE_FAILURE)
    when = START + dt.timedelta(seconds=seconds)
    record["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    record["userIdentity"]["userName"] = user
    del record["eventID"]  # each failure is its own event
    record.update(fields)
    return with_event_id(record)


def minutes(*values: float, user: str = "anaya") -> list[dict[str, Any]]:
    return [login_failure(m * 60, user) for m in values]


def test_five_failures_in_fifteen_minutes_fire_once() -> None:
    records = minutes(0, 2, 4, 6, 8)
    detector = detector_for(failed_logins_rule(group_by=["userIdentity.userName"]))
    (finding,) = run(detector, records)
    assert finding.record is records[4]
    assert finding.place == PLACE.child("records[4]")
    assert finding.title == "Console sign-in failures: anaya (5 in 15m)"
    assert finding.context == {
        "matched": {"responseElements.ConsoleLogin": ["Failure"]},
        "threshold": {
            "count": 5,
            "window_seconds": 900,
            "group": {"userIdentity.userName": "anaya"},
        },
    }
    assert finding.threshold == Threshold(5, 900, ("userIdentity.userName",))
    assert detector.stats() == {
        "suppressed": 0,
        "suppressed_by_entry": {},
        "below_threshold": 4,
        "duplicates": 0,
        "windows_dropped": 0,
    }


def test_a_flood_of_groups_drops_windows_and_says_so() -> None:
    """Sign-in failures from 60 users in one window, with room for 50 hits: the least
    recently hit windows go, the run's summary and metrics count them, and a burst in a
    window still kept fires."""
    detector = detector_for(
        failed_logins_rule(group_by=["userIdentity.userName"]), store=MemoryStore(hits_limit=50)
    )
    runtime = aws_lambda.Runtime(detector, [])
    flood = [login_failure(index, user=f"user{index}") for index in range(60)]
    summary = runtime.run(items(flood), InputTally())
    assert summary["alerts"] == 0
    assert summary["windows_dropped"] >= 10
    (line,) = metrics.emf_lines(summary, function_name="trailguard", now=0.0)
    assert line["ThresholdWindowsDropped"] == summary["windows_dropped"]
    burst = run(detector, [login_failure(100 + s, user="user59") for s in range(4)])
    assert [f.context["threshold"]["count"] for f in burst if f.context] == [5]


def test_four_failures_do_not_fire() -> None:
    detector = detector_for(failed_logins_rule())
    assert run(detector, minutes(0, 1, 2, 3)) == []
    assert detector.stats()["below_threshold"] == 4


def test_one_alert_per_group_per_window() -> None:
    """A steady stream is one burst until a window passes without an alert (a cooldown)."""
    detector = detector_for(failed_logins_rule())
    records = minutes(*range(11), *range(30, 35))  # one a minute, then five more later
    findings = run(detector, records)
    assert [f.record["eventTime"] for f in findings] == [
        records[4]["eventTime"],  # the fifth completes the first burst
        records[15]["eventTime"],  # minutes 30-34: a new burst, 26 minutes after the alert
    ]
    assert [f.context["threshold"]["count"] for f in findings if f.context] == [5, 5]
    assert detector.stats()["below_threshold"] == 14


def test_failures_spread_wider_than_the_window_do_not_fire() -> None:
    detector = detector_for(failed_logins_rule())
    assert run(detector, minutes(0, 4, 8, 12, 16, 20, 24, 28)) == []  # at most 4 in any 15m


def test_the_window_includes_both_ends() -> None:
    exactly = [login_failure(s) for s in (0, 225, 450, 675, 900)]
    assert len(run(detector_for(failed_logins_rule()), exactly)) == 1
    just_over = [login_failure(s) for s in (0, 225, 450, 675, 901)]
    assert run(detector_for(failed_logins_rule()), just_over) == []


def test_group_by_separates_actors() -> None:
    detector = detector_for(failed_logins_rule(group_by=["userIdentity.userName"]))
    records = [
        login_failure(m * 60, user) for m in range(5) for user in ("anaya", "bob")
    ]  # interleaved
    findings = run(detector, records)
    assert [
        (f.title, f.context["threshold"]["group"] if f.context else None) for f in findings
    ] == [
        ("Console sign-in failures: anaya (5 in 15m)", {"userIdentity.userName": "anaya"}),
        ("Console sign-in failures: bob (5 in 15m)", {"userIdentity.userName": "bob"}),
    ]
    assert [f.record for f in findings] == [records[8], records[9]]


def test_group_by_the_actor_and_a_missing_field() -> None:
    detector = detector_for(failed_logins_rule(group_by=["actor.name", "requestParameters.x"]))
    records = minutes(0, 1, 2, 3) + minutes(4, user="bob") + minutes(5)
    (finding,) = run(detector, records)
    assert finding.record is records[5]
    assert finding.context is not None
    assert finding.context["threshold"]["group"] == {
        "actor.name": "anaya",
        "requestParameters.x": None,
    }


def test_without_group_by_every_actor_counts_together() -> None:
    detector = detector_for(failed_logins_rule())
    records = minutes(0, 1, user="anaya") + minutes(2, 3, 4, user="bob")
    (finding,) = run(detector, records)
    assert finding.title == "Console sign-in failures: bob (5 in 15m)"


def test_out_of_order_event_times() -> None:
    backwards = minutes(8, 6, 4, 2, 0)
    (finding,) = run(detector_for(failed_logins_rule()), backwards)
    assert finding.record is backwards[4]
    assert finding.context is not None
    assert finding.context["threshold"]["count"] == 5


def test_a_late_record_completes_an_earlier_burst() -> None:
    records = minutes(0, 1, 2, 3, 30, 4)  # the 4-minute record arrives after the 30-minute one
    (finding,) = run(detector_for(failed_logins_rule()), records)
    assert finding.record is records[5]


def test_a_late_record_counts_with_later_ones_in_its_window() -> None:
    records = minutes(10, 11, 12, 13, 0)  # the 0 record opens a window that holds 10..13
    (finding,) = run(detector_for(failed_logins_rule()), records)
    assert finding.record is records[4]


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def ticking(
    clock: Clock, records: list[dict[str, Any]], step: dt.timedelta
) -> Iterator[SourcedRecord]:
    """The records one by one, the clock moving `step` before each."""
    for item in items(records):
        clock.now += step
        yield item


def run_ticking(records: list[dict[str, Any]], step: dt.timedelta, **threshold: Any) -> int:
    """How many findings the failed-login rule gives, the clock moving `step` per record."""
    clock = Clock(START)
    detector = detector_for(failed_logins_rule(**threshold), clock=clock)
    tally = InputTally()
    found = list(detector.run(ticking(clock, records, step), tally))
    assert not tally.errors
    return len(found)


def untimed(count: int) -> list[dict[str, Any]]:
    records = []
    for _ in range(count):
        record = copy.deepcopy(CONSOLE_FAILURE)
        del record["eventTime"]
        del record["eventID"]  # each is its own event
        records.append(with_event_id(record))
    return records


def test_records_without_event_time_use_the_clock() -> None:
    assert run_ticking(untimed(5), dt.timedelta(minutes=1)) == 1
    assert run_ticking(untimed(5), dt.timedelta(minutes=4)) == 0  # 16 minutes by the clock


@pytest.mark.parametrize("value", ["yesterday", 5, None, "", "2022-13-01T00:00:00Z"])
def test_an_unreadable_event_time_uses_the_clock(value: Any) -> None:
    records = [login_failure(0, eventTime=value) for _ in range(5)]
    assert run_ticking(records, dt.timedelta(minutes=1)) == 1
    assert run_ticking(records, dt.timedelta(minutes=4)) == 0


def test_event_time_wins_over_the_clock() -> None:
    same_moment = [login_failure(0) for _ in range(5)]
    assert run_ticking(same_moment, dt.timedelta(hours=1)) == 1
    spread = [login_failure(m * 240) for m in range(5)]  # 16 minutes of event time
    assert run_ticking(spread, dt.timedelta(0)) == 0


def test_an_event_at_the_epoch_is_not_taken_for_a_missing_time() -> None:
    at_epoch = login_failure(0, eventTime="1970-01-01T00:00:00Z")
    untimed_now = untimed(1)[0]  # the clock says 2022
    assert run_ticking([at_epoch, untimed_now], dt.timedelta(0), count=2, window="1m") == 0
    another_at_epoch = login_failure(0, eventTime="1970-01-01T00:00:00Z")
    assert run_ticking([at_epoch, another_at_epoch], dt.timedelta(0), count=2, window="1m") == 1


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2022-11-10T16:24:34Z", 1668097474.0),
        ("2022-11-10T16:24:34", 1668097474.0),  # no zone: UTC
        ("2022-11-10T17:24:34+01:00", 1668097474.0),
        ("1970-01-01T00:00:00Z", 0.0),
        ("soon", None),
        (1668097474, None),
        (None, None),
    ],
)
def test_event_epoch(text: Any, epoch: float | None) -> None:
    assert event_epoch({"eventTime": text}) == epoch


@pytest.mark.parametrize(
    ("window", "shown"),
    [("90s", "90s"), (60, "1m"), ("15m", "15m"), ("90m", "90m"), ("1h", "1h"), ("2d", "2d")],
)
def test_threshold_titles_name_the_window(window: Any, shown: str) -> None:
    (finding,) = run(detector_for(failed_logins_rule(window, count=1)), minutes(0))
    assert finding.title == f"Console sign-in failures: anaya (1 in {shown})"


def test_memory_store() -> None:
    store = MemoryStore()
    assert [store.window_hit("k", t, 60, 3) for t in (0, 10, 20, 30, 40, 50, 200)] == [
        None,
        None,
        3,
        None,
        None,
        3,
        None,
    ]
    assert store.window_hit("other", 20, 60, 1) == 1
    assert [store.window_hit("w", t, 60, 3) for t in (0, 61, 122, 183)] == [None] * 4


def test_severity_override_and_disabled_rules_in_the_detector() -> None:
    loud = make_rule("t.loud", {"event_name": "StopLogging"})
    quiet = make_rule("t.quiet", {"event_name": "StopLogging"})
    config = Config(
        overrides={
            "t.loud": RuleOverride(severity=Severity.CRITICAL),
            "t.quiet": RuleOverride(enabled=False),
        }
    )
    findings = run(detector_for(loud, quiet, config=config), [STOP_LOGGING])
    assert [(f.rule_id, f.severity) for f in findings] == [("t.loud", Severity.CRITICAL)]


def test_threshold_findings_take_the_severity_override() -> None:
    config = Config(overrides={"t.console_failures": RuleOverride(severity=Severity.LOW)})
    (finding,) = run(detector_for(failed_logins_rule(), config=config), minutes(0, 1, 2, 3, 4))
    assert finding.severity is Severity.LOW


def test_catalogue_rules_can_be_disabled() -> None:
    engine = Engine([default_catalog()])
    records = [STOP_LOGGING, DELETE_TRAIL, PASSWORD_DATA]
    everything = run(Detector(engine), records)
    assert [f.rule_id for f in everything] == [
        "catalog.change",
        "catalog.deletion",
        "catalog.change",
    ]
    config = Config(overrides={"catalog.change": RuleOverride(enabled=False)})
    assert [f.rule_id for f in run(Detector(engine, config), records)] == ["catalog.deletion"]
    config = Config(overrides={"catalog.deletion": RuleOverride(severity=Severity.CRITICAL)})
    severities = [(f.rule_id, f.severity) for f in run(Detector(engine, config), records)]
    assert severities == [
        ("catalog.change", Severity.HIGH),
        ("catalog.deletion", Severity.CRITICAL),
        ("catalog.change", Severity.LOW),
    ]


def test_a_rule_that_raises_does_not_silence_the_rest_of_its_pack():
    """A crafted record breaks one rule; the other rules of the pack still report."""
    from trailguard.engine import Engine
    from trailguard.model import Place, SourcedRecord
    from trailguard.rules import predicates
    from trailguard.rules.loader import rule_from_data
    from trailguard.rules.ruleset import RuleSet
    from trailguard.tally import InputTally

    if "test_explodes" not in predicates.registered():

        @predicates.predicate("test_explodes")
        def explodes(ctx, args):  # stands in for a predicate that fails on odd input
            raise RuntimeError("boom")

    def rule(rule_id, where=None):
        data = {"id": rule_id, "title": "t", "description": "d", "severity": "low"}
        if where:
            data["match"] = {"where": where}
        return rule_from_data(data, "mem")

    pack = RuleSet("p", [rule("t.broken", {"predicate": "test_explodes"}), rule("t.fine")])
    tally = InputTally()
    item = SourcedRecord({"eventSource": "s3.amazonaws.com", "eventName": "X"}, Place("f"))
    findings = Engine([pack]).evaluate(item, tally)
    assert [f.rule_id for f in findings] == ["t.fine"]
    assert [(p.reason, p.detail) for p in tally.errors] == [
        ("rule 't.broken' failed on this record", "RuntimeError: boom")
    ]


def test_a_redelivered_event_alerts_once_and_is_counted() -> None:
    """CloudWatch Logs and S3 retry whole batches: the same eventID must not alert twice."""
    rule = make_rule("t.any", {"event_source": "signin.amazonaws.com"})
    detector = detector_for(rule)
    record = login_failure(0)
    first = run(detector, [record])
    again = run(detector, [record, copy.deepcopy(record)])
    assert len(first) == 1
    assert again == []
    assert detector.stats()["duplicates"] == 2


def test_a_repeated_event_does_not_count_twice_toward_a_threshold() -> None:
    """Dedup comes before thresholds: five deliveries of one failure are one failure."""
    record = login_failure(0)
    assert run(detector_for(failed_logins_rule()), [record] * 5) == []
