"""`trailguard rules`, `trailguard explain` and `scan --config/--rules` end to end.

Like tests/test_cli.py: `main([...])` in-process with capsys, and one run of the installed
console script. Configurations and rule files are written to `tmp_path`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO, SHARED_DATA
from trailguard.cli import EXIT_ALERTS, EXIT_CLEAN, EXIT_ERRORS, main
from trailguard.rules.packs import PACKS_DIR
from trailguard.state import memory

STRATUS_AWSLOGS = SHARED_DATA / "envelopes/cloudwatch_logs/stratus_awslogs"
STRATUS_S3 = SHARED_DATA / "envelopes/s3/cloudtrail_log_files"
SG_OPEN = STRATUS_AWSLOGS / "stratus_aws.exfiltration.ec2-security-group-open-port-22-ingress.json"
CT_STOP = STRATUS_AWSLOGS / "stratus_aws.defense-evasion.cloudtrail-stop.json"
CT_STOP_S3 = STRATUS_S3 / "stratus_aws.defense-evasion.cloudtrail-stop.json.gz"
PASSWORD_DATA = STRATUS_AWSLOGS / "stratus_aws.credential-access.ec2-get-password-data.json"
TRUNCATED = SHARED_DATA / "envelopes/cloudwatch_logs/awsdocs_truncated_messages_example1.json"
STOPPED_YAML = PACKS_DIR / "threats" / "cloudtrail_stopped.yaml"
CATALOG_IDS = ("catalog.deletion", "catalog.unlisted_service", "catalog.change")
SG_REASON = "SG drills by christophe"

USER_RULE = """\
id: mine.stop_logging
title: "Trail stopped: {requestParameters.name}"
description: Our own copy of the stop-logging rule.
severity: medium
match:
  event_source: cloudtrail.amazonaws.com
  event_name: StopLogging
tests:
  - name: stop matches
    expect: match
    record: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, eventID: e1}
  - name: start does not
    expect: no_match
    record: {eventSource: cloudtrail.amazonaws.com, eventName: StartLogging, eventID: e2}
"""
SECOND_RULE = """\
id: mine.start_logging
title: Trail started
description: A trail was started.
severity: info
match:
  event_source: cloudtrail.amazonaws.com
  event_name: StartLogging
tests:
  - name: start matches
    expect: match
    record: {eventSource: cloudtrail.amazonaws.com, eventName: StartLogging}
  - name: stop does not
    expect: no_match
    record: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}
"""
FAILING_RULE = (
    USER_RULE
    + """\
  - name: start is a stop
    expect: match
    record: {eventSource: cloudtrail.amazonaws.com, eventName: StartLogging, eventID: e3}
"""
)
ONLY_MATCH_RULE = """\
id: mine.only_match
title: Trail stopped
description: Has a positive test only.
severity: low
match: {event_source: cloudtrail.amazonaws.com, event_name: StopLogging}
tests:
  - name: stop matches
    expect: match
    record: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}
"""
BROKEN_RULE = """\
id: mine.broken
title: Broken
description: A typo in an operator.
severity: low
match:
  where:
    sourceIPAddress: {cidr_contain: 10.0.0.0/8}
"""
BROKEN_MESSAGE = (
    "rule mine.broken: match.where.sourceIPAddress.cidr_contain: unknown operator; use one of: "
    "equals, one_of, prefix, suffix, contains, glob, regex, exists, gt, gte, lt, lte, "
    "cidr_contains, open_cidr"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def shipped_rules() -> list[dict[str, Any]]:
    """The shipped cis and threats rule files, as written."""
    return [
        yaml.safe_load(path.read_text())
        for pack in ("cis", "threats")
        for path in sorted((PACKS_DIR / pack).glob("*.yaml"))
    ]


def listed(rule_id: str, severity: str, events: str, mark: str = "") -> str:
    """One line of `rules list`, as the table writes it."""
    return f"{rule_id:<48} {severity:<9} {events}{mark}"


# --- rules list ---------------------------------------------------------------------------


def test_rules_list_table_has_catalogue_and_shipped_rules_with_severities(capsys):
    status, out, err = run(capsys, "rules", "list")
    assert (status, err) == (EXIT_CLEAN, "")
    lines = out.splitlines()
    shipped = shipped_rules()
    total = len(CATALOG_IDS) + len(shipped)
    assert lines[:3] == [
        listed("catalog.deletion", "high", "(every record)"),
        listed("catalog.unlisted_service", "info", "(every record)"),
        listed("catalog.change", "per event", "(every record)"),
    ]
    assert lines[-2:] == ["", f"{total} rules"]
    rows = lines[3:-2]
    assert len(rows) == len(shipped)
    for spec, row in zip(shipped, rows, strict=True):
        severity = spec["severity"] + ("+" if spec.get("severity_when") else "")
        assert row.startswith(f"{spec['id']:<48} {severity:<9} "), row
    assert listed("threats.cloudtrail_stopped", "high+", "cloudtrail: StopLogging") in lines
    assert listed("cis.cloudwatch_01_root_usage", "high", "(any event)") in lines
    assert "(disabled)" not in out


def test_rules_list_json_has_an_entry_per_rule_with_references(capsys):
    status, out, _ = run(capsys, "rules", "list", "--format", "json")
    entries = json.loads(out)
    assert status == EXIT_CLEAN
    assert [e["id"] for e in entries] == [*CATALOG_IDS, *(s["id"] for s in shipped_rules())]
    keys = {"id", "severity", "enabled", "title", "events", "references", "threshold"}
    assert all(set(entry) == keys for entry in entries)  # one schema, catalogue rows too
    by_id = {entry["id"]: entry for entry in entries}
    assert by_id["threats.cloudtrail_stopped"] == {
        "id": "threats.cloudtrail_stopped",
        "severity": "high+",
        "enabled": True,
        "title": "CloudTrail logging stopped: {requestParameters.name}",
        "events": "cloudtrail: StopLogging",
        "references": [
            "PCI DSS v4.0/10.2.1.6",
            "PCI DSS v4.0/10.7.2",
            "CIS AWS Foundations Benchmark v1.4.0/4.5",
            "Security Hub CloudWatch.5",
            "MITRE ATT&CK T1562.008",
        ],
        "threshold": None,
    }
    assert by_id["threats.access_denied_burst"]["threshold"] == "10 in 300s"
    assert by_id["catalog.change"]["references"] == []
    for entry in entries[len(CATALOG_IDS) :]:  # pci_dss is required for shipped rules
        assert any(ref.startswith("PCI DSS v4.0/") for ref in entry["references"]), entry["id"]


def test_rules_list_markdown_is_the_table_in_docs_rules_md(capsys):
    status, out, _ = run(capsys, "rules", "list", "--format", "markdown")
    text = (REPO / "docs" / "rules.md").read_text()
    match = re.search(r"<!-- rules-table:start -->\n(.*?)<!-- rules-table:end -->", text, re.DOTALL)
    assert match
    assert status == EXIT_CLEAN
    assert out == match.group(1)


def test_rules_list_marks_rules_the_config_disables(capsys, tmp_path):
    config = write(
        tmp_path,
        "trailguard.yaml",
        "rules:\n"
        "  threats.cloudtrail_stopped: {enabled: false}\n"
        "  catalog.deletion: {enabled: false}\n",
    )
    status, out, _ = run(capsys, "rules", "list", "--config", str(config))
    lines = out.splitlines()
    assert status == EXIT_CLEAN
    disabled = [line for line in lines if line.endswith("  (disabled)")]
    assert disabled == [
        listed("catalog.deletion", "high", "(every record)", "  (disabled)"),
        listed("threats.cloudtrail_stopped", "high+", "cloudtrail: StopLogging", "  (disabled)"),
    ]
    assert lines[-1] == f"{len(CATALOG_IDS) + len(shipped_rules())} rules"


def test_rules_list_shows_severity_overrides(capsys, tmp_path):
    config = write(
        tmp_path,
        "trailguard.yaml",
        "rules:\n"
        "  threats.cloudtrail_stopped: {severity: low}\n"
        "  catalog.change: {severity: medium}\n",
    )
    _, out, _ = run(capsys, "rules", "list", "--config", str(config))
    lines = out.splitlines()
    # An override replaces every finding's severity, so the `+` of severity_when goes too.
    assert listed("threats.cloudtrail_stopped", "low", "cloudtrail: StopLogging") in lines
    assert listed("catalog.change", "medium", "(every record)") in lines
    _, out, _ = run(capsys, "rules", "list", "--config", str(config), "--format", "json")
    by_id = {entry["id"]: entry for entry in json.loads(out)}
    assert by_id["threats.cloudtrail_stopped"]["severity"] == "low"


def test_rules_list_adds_rules_from_each_rules_folder(capsys, tmp_path):
    write(tmp_path / "one", "stop.yaml", USER_RULE)
    write(tmp_path / "two", "start.yaml", SECOND_RULE)
    status, out, _ = run(capsys, "rules", "list", "--rules", str(tmp_path / "one"))
    lines = out.splitlines()
    total = len(CATALOG_IDS) + len(shipped_rules())
    assert status == EXIT_CLEAN
    assert lines[-3] == listed("mine.stop_logging", "medium", "cloudtrail: StopLogging")
    assert lines[-1] == f"{total + 1} rules"
    argv = ("--rules", str(tmp_path / "one"), "--rules", str(tmp_path / "two"))
    _, out, _ = run(capsys, "rules", "list", *argv)
    lines = out.splitlines()
    assert lines[-4:-2] == [
        listed("mine.stop_logging", "medium", "cloudtrail: StopLogging"),
        listed("mine.start_logging", "info", "cloudtrail: StartLogging"),
    ]
    assert lines[-1] == f"{total + 2} rules"


# --- rules show ---------------------------------------------------------------------------


def test_rules_show_prints_the_source_and_the_rule_with_its_test_names(capsys):
    status, out, err = run(capsys, "rules", "show", "threats.cloudtrail_stopped")
    first, _, rest = out.partition("\n")
    shown = yaml.safe_load(rest)
    assert (status, err) == (EXIT_CLEAN, "")
    assert first == f"# {STOPPED_YAML}"
    assert shown["id"] == "threats.cloudtrail_stopped"
    assert shown["title"] == "CloudTrail logging stopped: {requestParameters.name}"
    assert shown["severity"] == "high"
    assert shown["match"] == {
        "event_source": "cloudtrail.amazonaws.com",
        "event_name": "StopLogging",
    }
    assert shown["tests"] == [
        "an IAM user stops a trail (Stratus cloudtrail-stop detonation, real record) (match)",
        "the root user stops the organization trail from the console (match)",
        "the same call denied (AccessDenied) stopped nothing; "
        "threats.audit_tampering_denied reports it (no_match)",
        "starting a trail is not stopping it (no_match)",
    ]
    assert "eventVersion" not in out  # the names of the tests, not their records


def test_rules_show_a_catalogue_rule(capsys):
    status, out, _ = run(capsys, "rules", "show", "catalog.change")
    assert status == EXIT_CLEAN
    assert out == (
        "catalog.change (per event): A catalogued event, at the catalogue's severity. "
        "See docs/catalogue.md.\n"
    )


def test_rules_show_a_user_rule(capsys, tmp_path):
    path = write(tmp_path / "mine", "stop.yaml", USER_RULE)
    status, out, _ = run(capsys, "rules", "show", "mine.stop_logging", "--rules", str(path.parent))
    assert status == EXIT_CLEAN
    assert out.splitlines()[0] == f"# {path}"
    assert yaml.safe_load(out)["tests"] == ["stop matches (match)", "start does not (no_match)"]


def test_rules_show_unknown_id_says_how_to_list_rules(capsys):
    status, out, err = run(capsys, "rules", "show", "threats.cloudtrail_stoped")
    assert (status, out) == (EXIT_ERRORS, "")
    assert err == (
        "trailguard: error: no rule 'threats.cloudtrail_stoped'; "
        "`trailguard rules list` shows them\n"
    )


# --- rules test ---------------------------------------------------------------------------


def test_rules_test_runs_every_shipped_test(capsys):
    shipped = shipped_rules()
    tests = sum(len(spec["tests"]) for spec in shipped)
    status, out, err = run(capsys, "rules", "test")
    assert (status, err) == (EXIT_CLEAN, "")
    assert out == f"{tests} passed, 0 failed, in {len(shipped)} rules\n"


def test_rules_test_a_folder_with_a_failing_test(capsys, tmp_path):
    path = write(tmp_path / "mine", "stop.yaml", FAILING_RULE)
    status, out, err = run(capsys, "rules", "test", str(path.parent))
    assert (status, err) == (EXIT_ALERTS, "")
    assert out == (
        "FAIL mine.stop_logging: start is a stop: expected a match, got none\n"
        f"     in {path}\n"
        "2 passed, 1 failed, in 1 rules\n"
    )


def test_rules_test_needs_a_no_match_test(capsys, tmp_path):
    path = write(tmp_path / "mine", "only.yaml", ONLY_MATCH_RULE)
    status, out, _ = run(capsys, "rules", "test", str(path))
    assert status == EXIT_ALERTS
    assert out == (
        "FAIL mine.only_match: (coverage): needs a `no_match` test\n"
        f"     in {path}\n"
        "1 passed, 1 failed, in 1 rules\n"
    )


def test_rules_test_verbose_lists_passing_tests(capsys, tmp_path):
    folder = tmp_path / "mine"
    write(folder, "stop.yaml", USER_RULE)
    status, out, _ = run(capsys, "rules", "test", str(folder), "-v")
    assert status == EXIT_CLEAN
    assert out == (
        "ok   mine.stop_logging: stop matches\n"
        "ok   mine.stop_logging: start does not\n"
        "2 passed, 0 failed, in 1 rules\n"
    )
    _, quiet, _ = run(capsys, "rules", "test", str(folder))
    assert quiet == "2 passed, 0 failed, in 1 rules\n"


def test_rules_test_with_rules_folder_adds_user_rules_to_the_shipped_ones(capsys, tmp_path):
    folder = tmp_path / "mine"
    write(folder, "stop.yaml", USER_RULE)
    shipped = shipped_rules()
    tests = sum(len(spec["tests"]) for spec in shipped)
    status, out, _ = run(capsys, "rules", "test", "--rules", str(folder))
    assert status == EXIT_CLEAN
    assert out == f"{tests + 2} passed, 0 failed, in {len(shipped) + 1} rules\n"


def test_rules_test_malformed_rule_names_file_rule_and_field(capsys, tmp_path):
    path = write(tmp_path / "mine", "broken.yaml", BROKEN_RULE)
    status, out, err = run(capsys, "rules", "test", str(path.parent))
    assert (status, out) == (EXIT_ERRORS, "")
    assert err == f"trailguard: error: {path}: {BROKEN_MESSAGE}\n"


# --- rules validate -----------------------------------------------------------------------


def test_rules_validate_good_and_bad_folders(capsys, tmp_path):
    good = tmp_path / "good"
    write(good, "stop.yaml", USER_RULE)
    write(good, "start.yaml", SECOND_RULE)
    bad = write(tmp_path / "bad", "broken.yaml", BROKEN_RULE)
    assert run(capsys, "rules", "validate", str(good)) == (
        EXIT_CLEAN,
        "2 rules loaded without errors\n",
        "",
    )
    assert run(capsys, "rules", "validate", str(bad.parent)) == (
        EXIT_ERRORS,
        "",
        f"trailguard: error: {bad}: {BROKEN_MESSAGE}\n",
    )
    status, _, err = run(capsys, "rules", "validate", "--rules", str(bad.parent))
    assert (status, err) == (EXIT_ERRORS, f"trailguard: error: {bad}: {BROKEN_MESSAGE}\n")
    missing = tmp_path / "nowhere"
    assert run(capsys, "rules", "validate", str(missing)) == (
        EXIT_ERRORS,
        "",
        f"trailguard: error: {missing}: (path): no such file or folder\n",
    )


def test_rules_validate_without_paths_loads_every_shipped_rule(capsys):
    status, out, _ = run(capsys, "rules", "validate")
    assert status == EXIT_CLEAN
    assert out == f"{len(shipped_rules())} rules loaded without errors\n"


@pytest.mark.parametrize("how", ["path", "--rules"])
def test_rules_validate_duplicate_of_a_shipped_id_names_both_files(capsys, tmp_path, how):
    dup = write(
        tmp_path / "mine",
        "dup.yaml",
        USER_RULE.replace("mine.stop_logging", "threats.cloudtrail_stopped"),
    )
    argv = [str(dup.parent)] if how == "path" else ["--rules", str(dup.parent)]
    status, out, err = run(capsys, "rules", "validate", *argv)
    assert (status, out) == (EXIT_ERRORS, "")
    assert err == (
        f"trailguard: error: {dup}: rule threats.cloudtrail_stopped: id: duplicate id; "
        f"also in {STOPPED_YAML}\n"
    )


def test_rules_validate_duplicate_ids_inside_a_user_folder(capsys, tmp_path):
    first = write(tmp_path / "mine", "a.yaml", USER_RULE)
    second = write(tmp_path / "mine", "b.yaml", USER_RULE)
    status, _, err = run(capsys, "rules", "validate", str(tmp_path / "mine"))
    assert status == EXIT_ERRORS
    assert err == (
        f"trailguard: error: {second}: rule mine.stop_logging: id: duplicate id; also in {first}\n"
    )


def test_rules_validate_a_catalogue_id_is_a_duplicate(capsys, tmp_path):
    path = write(tmp_path, "cat.yaml", USER_RULE.replace("mine.stop_logging", "catalog.change"))
    status, _, err = run(capsys, "rules", "validate", str(path))
    assert status == EXIT_ERRORS
    assert err == (
        f"trailguard: error: {path}: rule catalog.change: id: duplicate id; also in the catalogue\n"
    )


def test_rules_validate_the_shipped_folder_itself_and_a_folder_given_twice(capsys, tmp_path):
    """The same file on both sides is the same rule, not a duplicate."""
    status, out, _ = run(capsys, "rules", "validate", str(PACKS_DIR / "threats"))
    assert status == EXIT_CLEAN
    assert (
        out == f"{len(list((PACKS_DIR / 'threats').glob('*.yaml')))} rules loaded without errors\n"
    )
    folder = tmp_path / "mine"
    write(folder, "stop.yaml", USER_RULE)
    argv = ("rules", "validate", str(folder), str(folder), "--rules", str(folder))
    assert run(capsys, *argv) == (EXIT_CLEAN, "1 rules loaded without errors\n", "")


# --- explain ------------------------------------------------------------------------------

SG_HEADER = (
    f"{SG_OPEN}: awslogs.data logEvents[0]: ec2.amazonaws.com AuthorizeSecurityGroupIngress "
    "by IAMUser christophe"
)
SG_CATALOG = (
    "  ✓ catalog.change [low] AuthorizeSecurityGroupIngress: low-severity event in the catalogue"
)
SG_CIS = (
    "  ✓ cis.cloudwatch_10_security_group_changes [high] Security group change: "
    "AuthorizeSecurityGroupIngress sg-003dc7f1f1c686164"
)
SG_THREAT = (
    "  ✓ threats.sg_ingress_open_to_world [critical] Security group ingress opened to the "
    "internet (AuthorizeSecurityGroupIngress)"
)
SG_ALLOWLIST = f"""\
allowlist:
  - reason: {SG_REASON}
    actor_arn: "arn:aws:iam::*:user/christophe"
    rules: ["cis.*", "threats.sg_*"]
"""


def test_explain_a_record_matched_rules_requirements_and_others(capsys):
    status, out, err = run(capsys, "explain", str(SG_OPEN))
    lines = out.splitlines()
    assert (status, err) == (EXIT_CLEAN, "")
    assert lines[0] == SG_HEADER
    assert [line for line in lines if line.startswith("  ✓")] == [SG_CATALOG, SG_CIS, SG_THREAT]
    start = lines.index(SG_THREAT)
    assert lines[start + 1 : start + 5] == [
        "        ✓ eventSource one of ['ec2.amazonaws.com'] (found 'ec2.amazonaws.com')",
        "        ✓ eventName one of ['AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules'] "
        "(found 'AuthorizeSecurityGroupIngress')",
        "        ✓ outcome success (errorCode None)",
        "        ✓ predicate ingress_open_to_world {'include_icmp': False}: The request opens "
        "ingress to 0.0.0.0/0 or ::/0 (on one of `ports`, or on all ports).",
    ]
    # A candidate that did not match: ✗, then the requirement that failed.
    start = lines.index("  ✗ cis.cloudwatch_02_unauthorized_api_calls: did not match")
    assert lines[start + 1] == "        ✗ outcome failure (errorCode None)"
    explained = [line for line in lines if re.match(r"  [✓✗] (cis|threats)\.", line)]
    others = len(shipped_rules()) - len(explained)
    assert lines[-3:] == [
        f"  ({others} other rules do not apply to this event source and name)",
        "",
        "1 records explained, 0 skipped, 0 invalid",
    ]


def test_explain_one_rule_of_another_event_for_every_record(capsys):
    status, out, _ = run(
        capsys, "explain", str(PASSWORD_DATA), "--rule", "threats.cloudtrail_stopped"
    )
    blocks = out.split("\n\n")
    assert status == EXIT_CLEAN
    assert blocks[-1] == "34 records explained, 0 skipped, 0 invalid\n"
    for index, block in enumerate(blocks[:-1]):
        assert block.splitlines()[0].startswith(
            f"{PASSWORD_DATA}: awslogs.data logEvents[{index}]: "
        )
    assert len(blocks) == 35
    assert blocks[0].splitlines()[1:] == [
        "  ✗ threats.cloudtrail_stopped: did not match",
        "        ✗ eventSource one of ['cloudtrail.amazonaws.com'] (found 'ec2.amazonaws.com')",
        "        ✗ eventName one of ['StopLogging'] (found 'GetPasswordData')",
        "        ✗ outcome success (errorCode 'Client.UnauthorizedOperation')",
    ]
    assert out.count("  ✗ threats.cloudtrail_stopped: did not match") == 34
    assert "catalog." not in out  # only the rule asked about
    assert "other rules do not apply" not in out


def test_explain_one_catalogue_rule(capsys):
    """`rules list` lists the catalogue's rules, so `--rule` takes their ids too."""
    status, out, err = run(capsys, "explain", str(SG_OPEN), "--rule", "catalog.change")
    assert (status, err) == (EXIT_CLEAN, "")
    assert out == f"{SG_HEADER}\n{SG_CATALOG}\n\n1 records explained, 0 skipped, 0 invalid\n"
    _, out, _ = run(capsys, "explain", str(SG_OPEN), "--rule", "catalog.deletion")
    assert out == f"{SG_HEADER}\n\n1 records explained, 0 skipped, 0 invalid\n"


def test_explain_says_which_allowlist_entry_suppresses_a_match(capsys, tmp_path):
    config = write(
        tmp_path,
        "trailguard.yaml",
        SG_ALLOWLIST.replace('"threats.sg_*"', '"threats.sg_*", "catalog.*"'),
    )
    status, out, _ = run(capsys, "explain", str(SG_OPEN), "--config", str(config))
    note = f" — suppressed by allowlist[0] ({SG_REASON})"
    assert status == EXIT_CLEAN
    assert [line for line in out.splitlines() if line.startswith("  ✓")] == [
        SG_CATALOG + note,
        SG_CIS + note,
        SG_THREAT + note,
    ]


def test_explain_applies_the_configs_severity_and_enabled_overrides(capsys, tmp_path):
    config = write(
        tmp_path,
        "trailguard.yaml",
        "rules:\n"
        "  threats.sg_ingress_open_to_world: {severity: medium}\n"
        "  cis.cloudwatch_10_security_group_changes: {enabled: false}\n"
        "  catalog.change: {enabled: false}\n",
    )
    _, out, _ = run(capsys, "explain", str(SG_OPEN), "--config", str(config))
    assert [line for line in out.splitlines() if line.startswith("  ✓")] == [
        SG_THREAT.replace("[critical]", "[medium]")
    ]
    # ... as the scan reports it.
    _, out, _ = run(capsys, "scan", str(SG_OPEN), "--config", str(config), "--format", "jsonl")
    assert [(a["rule_id"], a["severity"]) for a in map(json.loads, out.splitlines())] == [
        ("threats.sg_ingress_open_to_world", "medium")
    ]


def test_explain_a_disabled_rule_warns(capsys, tmp_path):
    config = write(
        tmp_path, "c.yaml", "rules:\n  threats.sg_ingress_open_to_world: {enabled: false}\n"
    )
    argv = (
        "explain",
        str(SG_OPEN),
        "--config",
        str(config),
        "--rule",
        "threats.sg_ingress_open_to_world",
    )
    status, out, err = run(capsys, *argv)
    assert status == EXIT_CLEAN
    assert out == f"{SG_HEADER}\n\n1 records explained, 0 skipped, 0 invalid\n"
    assert err == (
        "trailguard: warning: threats.sg_ingress_open_to_world is disabled (by its file or the "
        "configuration): it matches nothing, so nothing is explained\n"
    )


def test_explain_threshold_rules_count_toward_a_threshold(capsys):
    _, out, _ = run(capsys, "explain", str(PASSWORD_DATA))
    first = out.split("\n\n")[0].splitlines()
    assert (
        "  ✓ threats.ec2_password_data_denied_burst [medium] Repeated refused GetPasswordData "
        "calls by stratus-red-team-ec2-get-password-data-role — counts toward a threshold of 5 "
        "in 900s"
    ) in first
    assert (
        "  ✓ cis.cloudwatch_02_unauthorized_api_calls [low] Unauthorized API call: "
        in "\n".join(first)
    )


def test_explain_unknown_rule_is_an_error(capsys):
    status, out, err = run(capsys, "explain", str(SG_OPEN), "--rule", "threats.nope")
    assert (status, out) == (EXIT_ERRORS, "")
    assert err == "trailguard: error: no rule 'threats.nope'; see `trailguard rules list`\n"


def test_explain_input_errors_exit_2(capsys, tmp_path):
    missing = tmp_path / "nope.json"
    status, out, err = run(capsys, "explain", str(missing), str(CT_STOP))
    assert status == EXIT_ERRORS
    assert err == f"trailguard: error: {missing}: no such file or folder\n"
    assert "  ✓ threats.cloudtrail_stopped [high] " in out
    assert out.endswith("\n1 records explained, 0 skipped, 1 invalid\n")
    status, out, err = run(capsys, "explain", str(TRUNCATED))
    assert status == EXIT_ERRORS
    assert out == "0 records explained, 0 skipped, 3 invalid\n"
    assert err.count(f"trailguard: error: {TRUNCATED}: awslogs.data logEvents[") == 3


def test_explain_bad_config_is_an_error(capsys, tmp_path):
    config = write(tmp_path, "c.yaml", "rule: {}\n")
    status, out, err = run(capsys, "explain", str(SG_OPEN), "--config", str(config))
    assert (status, out) == (EXIT_ERRORS, "")
    assert err == (
        f"trailguard: error: {config}: rule: unknown key; "
        "allowed: packs, rule_folders, rules, allowlist, sinks, state\n"
    )


# --- scan --config / --rules --------------------------------------------------------------


def test_scan_allowlist_suppresses_and_the_table_summary_says_so(capsys, tmp_path):
    config = write(tmp_path, "trailguard.yaml", SG_ALLOWLIST)
    status, out, err = run(
        capsys, "scan", str(SG_OPEN), "--config", str(config), "--color", "never"
    )
    lines = out.splitlines()
    assert (status, err) == (EXIT_CLEAN, "")
    assert [line.split()[2] for line in lines[1 : lines.index("")]] == ["catalog.change"]
    assert "  suppressed 2 by the allowlist" in lines
    assert f"    allowlist[0] ({SG_REASON})  2" in lines
    assert "    threats.sg_ingress_open_to_world" not in out


def test_scan_json_summary_counts_the_detector_stages(capsys, tmp_path):
    config = write(tmp_path, "trailguard.yaml", SG_ALLOWLIST)
    _, out, _ = run(capsys, "scan", str(SG_OPEN), "--config", str(config), "--format", "json")
    document = json.loads(out)
    summary = document["summary"]
    assert [a["rule_id"] for a in document["alerts"]] == ["catalog.change"]
    assert summary["suppressed"] == 2
    assert summary["suppressed_by_entry"] == {f"allowlist[0] ({SG_REASON})": 2}
    assert summary["duplicates"] == 0
    assert summary["below_threshold"] == 0
    assert summary["findings"] == 1


def test_scan_expired_allowlist_entry_warns_and_does_not_suppress(capsys, tmp_path):
    config = write(
        tmp_path,
        "trailguard.yaml",
        SG_ALLOWLIST.replace("    actor_arn", "    expires: 2020-01-01\n    actor_arn"),
    )
    status, out, err = run(
        capsys, "scan", str(SG_OPEN), "--config", str(config), "--format", "json"
    )
    summary = json.loads(out)["summary"]
    assert status == EXIT_CLEAN
    assert err == (
        f"trailguard: warning: {config}: allowlist[0] expired on 2020-01-01 and no longer "
        f"applies (reason was: {SG_REASON}); renew or remove it\n"
    )
    assert summary["suppressed"] == 0
    assert summary["findings"] == 3
    assert set(summary["by_rule"]) == {
        "catalog.change",
        "cis.cloudwatch_10_security_group_changes",
        "threats.sg_ingress_open_to_world",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "pack: {cis: false}\n",
            "pack: unknown key; allowed: packs, rule_folders, rules, allowlist, sinks, state",
        ),
        (
            "rules:\n  threats.cloudtrail_stoped: {enabled: false}\n",
            "rules.threats.cloudtrail_stoped: no such rule; did you mean "
            "threats.cloudtrail_stopped, threats.cloudtrail_deleted, threats.cloudtrail_created?",
        ),
        (
            "rules:\n  threats.cloudtrail_stopped: {severity: severe}\n",
            "rules.threats.cloudtrail_stopped.severity: unknown severity 'severe'; "
            "use one of: info, low, medium, high, critical",
        ),
        (
            "allowlist:\n  - reason: no criterion\n",
            "allowlist[0]: an entry needs at least one criterion besides `reason`",
        ),
        (
            "packs: {cloud: false}\n",
            "packs.cloud: no such pack; shipped packs: catalog, cis, threats",
        ),
    ],
)
def test_scan_bad_config_names_file_and_key(capsys, tmp_path, text, message):
    config = write(tmp_path, "trailguard.yaml", text)
    status, out, err = run(capsys, "scan", str(SG_OPEN), "--config", str(config))
    assert (status, out) == (EXIT_ERRORS, "")
    assert err == f"trailguard: error: {config}: {message}\n"


def test_scan_missing_config_file(capsys, tmp_path):
    config = tmp_path / "absent.yaml"
    status, out, err = run(capsys, "scan", str(SG_OPEN), "--config", str(config))
    assert (status, out) == (EXIT_ERRORS, "")
    assert err == (
        f"trailguard: error: {config}: (file): no such file; "
        "pass the path of a YAML configuration\n"
    )


def test_scan_rules_folder_rule_fires(capsys, tmp_path):
    folder = tmp_path / "mine"
    write(folder, "stop.yaml", USER_RULE)
    argv = ("scan", str(CT_STOP), "--rules", str(folder), "--format", "jsonl")
    status, out, _ = run(capsys, *argv)
    mine = [a for a in map(json.loads, out.splitlines()) if a["rule_id"] == "mine.stop_logging"]
    assert status == EXIT_CLEAN
    assert [(a["severity"], a["title"]) for a in mine] == [
        ("medium", "Trail stopped: stratus-red-team-ct-stop-trail-buykxbqejv")
    ]
    _, out, _ = run(capsys, "scan", str(CT_STOP), "--rules", str(folder), "--color", "never")
    row = next(line for line in out.splitlines() if "mine.stop_logging" in line)
    assert row.split()[:3] == ["medium", "2024-07-31T13:06:24Z", "mine.stop_logging"]
    # A folder named by the configuration (relative to it) loads the same way.
    config = write(tmp_path, "trailguard.yaml", "rule_folders: [mine]\n")
    status, out, _ = run(capsys, "scan", str(CT_STOP), "--config", str(config), "--format", "json")
    assert json.loads(out)["summary"]["by_rule"]["mine.stop_logging"] == 1
    status, _, _ = run(capsys, "scan", str(CT_STOP), "--rules", str(folder), "--fail-on", "medium")
    assert status == EXIT_ALERTS


def test_scan_rules_folder_with_a_broken_rule_is_an_error(capsys, tmp_path):
    path = write(tmp_path / "mine", "broken.yaml", BROKEN_RULE)
    status, out, err = run(capsys, "scan", str(CT_STOP), "--rules", str(path.parent))
    assert (status, out) == (EXIT_ERRORS, "")
    assert err == f"trailguard: error: {path}: {BROKEN_MESSAGE}\n"


def test_scan_the_same_events_twice_reports_each_once(capsys):
    """The Stratus cloudtrail-stop events as a CloudWatch Logs payload and as an S3 log file."""
    argv = ("scan", str(CT_STOP), str(CT_STOP_S3))
    _, out, _ = run(capsys, *argv, "--format", "json")
    document = json.loads(out)
    pairs = [(a["rule_id"], a["event_id"]) for a in document["alerts"]]
    assert len(pairs) == len(set(pairs)) == 3
    summary = document["summary"]
    assert summary["input"]["records"] == 2
    assert summary["duplicates"] == 3
    status, out, _ = run(capsys, *argv, "--color", "never")
    assert status == EXIT_CLEAN
    assert "  duplicate  3 (same rule, same event: reported once)" in out.splitlines()
    assert "  input      2 records read, 0 skipped, 0 invalid" in out.splitlines()


def test_scan_summary_shows_findings_held_below_a_threshold(capsys):
    _, out, _ = run(capsys, "scan", str(PASSWORD_DATA), "--color", "never")
    _, doc, _ = run(capsys, "scan", str(PASSWORD_DATA), "--format", "json")
    held = json.loads(doc)["summary"]["below_threshold"]
    assert held > 0
    assert f"  held       {held} below their rule's threshold" in out.splitlines()


def test_scan_summary_shows_threshold_windows_dropped(capsys, tmp_path, monkeypatch):
    """Denied GetPasswordData calls by 30 principals, with room for 10 hits in memory: the
    summary says windows were dropped and what to use instead."""
    monkeypatch.setattr(memory, "HITS_LIMIT", 10)
    entry = json.loads(
        (SHARED_DATA / "events/stratus_detonations.jsonl").read_text().split("\n")[0]
    )
    record = entry["event"]
    assert record["eventName"] == "GetPasswordData"
    assert record["errorCode"]
    flood = tmp_path / "flood.json"
    records = []
    for index in range(30):
        copy = json.loads(json.dumps(record))
        copy["eventID"] = f"flood-{index}"
        copy["userIdentity"]["arn"] = f"arn:aws:iam::123456789012:user/sprayer{index}"
        records.append(copy)
    flood.write_text(json.dumps({"Records": records}))
    _, doc, _ = run(capsys, "scan", str(flood), "--format", "json", "--jobs", "1")
    dropped = json.loads(doc)["summary"]["windows_dropped"]
    assert dropped >= 20
    _, out, _ = run(capsys, "scan", str(flood), "--color", "never", "--jobs", "1")
    assert (
        f"  dropped    {dropped} threshold windows (memory full: a flood of groups; "
        "bursts over them may be missed, use a sqlite state store)"
    ) in out.splitlines()


# --- the installed command ----------------------------------------------------------------


def test_console_script_rules_test_passes():
    exe = shutil.which("trailguard", path=str(Path(sys.executable).parent))
    assert exe, "the trailguard console script is not installed in this environment"
    done = subprocess.run([exe, "rules", "test"], capture_output=True, text=True, check=False)
    assert done.returncode == EXIT_CLEAN, done.stdout + done.stderr
    assert done.stderr == ""
    assert re.fullmatch(rf"\d+ passed, 0 failed, in {len(shipped_rules())} rules\n", done.stdout)


def test_explain_reports_a_rule_that_fails_and_goes_on(tmp_path, capsys):
    from trailguard.rules import predicates

    if "test_explain_explodes" not in predicates.registered():

        @predicates.predicate("test_explain_explodes")
        def explodes(ctx, args):
            raise RuntimeError("boom")

    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "broken.yaml").write_text(
        "id: local.broken\ntitle: t\ndescription: d\nseverity: low\n"
        "match: {event_name: StopLogging, where: {predicate: test_explain_explodes}}\n"
    )
    payload = SHARED_DATA / "envelopes/cloudwatch_logs/stratus_awslogs"
    payload /= "stratus_aws.defense-evasion.cloudtrail-stop.json"
    status = main(["explain", str(payload), "--rules", str(folder)])
    out = capsys.readouterr().out
    assert status == 0
    assert "  ! local.broken: failed on this record: RuntimeError: boom" in out
    assert "✓ threats.cloudtrail_stopped" in out
