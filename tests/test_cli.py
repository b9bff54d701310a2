"""`trailguard scan` end to end: outputs, filters, exit status, error reporting."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CATALOG_ONLY, REPO, SHARED_DATA
from trailguard import aws_lambda
from trailguard.alerts import SCHEMA_VERSION
from trailguard.cli import EXIT_ALERTS, EXIT_CLEAN, EXIT_ERRORS, main

EXAMPLES = REPO / "examples"
CATALOGUE = ("--config", str(CATALOG_ONLY))  # pins counts to the seed's catalogue
STRATUS_AWSLOGS = SHARED_DATA / "envelopes/cloudwatch_logs/stratus_awslogs"
TRUNCATED = SHARED_DATA / "envelopes/cloudwatch_logs/awsdocs_truncated_messages_example1.json"
CLOUDTRAIL_DELETE = (
    SHARED_DATA
    / "envelopes/s3/cloudtrail_log_files/stratus_aws.defense-evasion.cloudtrail-delete.json.gz"
)


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["scan", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_table_lists_alerts_then_summary(capsys):
    status, out, err = scan(capsys, str(EXAMPLES), "--color", "never")
    assert status == EXIT_CLEAN
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["SEVERITY", "TIME", "RULE", "ACTOR", "EVENT", "RESOURCE"]
    assert any("cloudtrail:StopLogging" in line and line.startswith("high") for line in lines)
    assert "Summary" in lines
    assert "  input      20 records read, 4 skipped, 0 invalid" in lines
    assert "\x1b[" not in out


def test_colour_always_marks_severities(capsys):
    _, out, _ = scan(capsys, str(EXAMPLES), "--color", "always")
    assert "\x1b[1;31mhigh" in out


def test_jsonl_is_one_alert_per_line_in_the_schema(capsys):
    status, out, err = scan(capsys, str(EXAMPLES), "--format", "jsonl", *CATALOGUE)
    alerts = jsonl(out)
    assert status == EXIT_CLEAN
    assert len(alerts) == 18
    assert {a["schema_version"] for a in alerts} == {SCHEMA_VERSION}
    assert {a["rule_id"] for a in alerts} == {
        "catalog.change",
        "catalog.deletion",
        "catalog.unlisted_service",
    }
    assert "findings   18" in err  # the summary goes to stderr, stdout stays pure JSON lines


def test_json_document_has_alerts_and_summary(capsys):
    _, out, _ = scan(capsys, str(EXAMPLES), "--format", "json", *CATALOGUE)
    document = json.loads(out)
    assert len(document["alerts"]) == document["summary"]["findings"] == 18
    assert document["summary"]["input"]["records"] == 20
    assert document["summary"]["by_severity"]["high"] == 5


def test_min_severity_filters_output_but_not_the_count(capsys):
    args = ("--format", "json", "--min-severity", "high", *CATALOGUE)
    _, out, _ = scan(capsys, str(EXAMPLES), *args)
    document = json.loads(out)
    assert {a["severity"] for a in document["alerts"]} == {"high"}
    assert document["summary"]["alerts_shown"] == 5
    assert document["summary"]["findings"] == 18


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("high", EXIT_ALERTS), ("medium", EXIT_ALERTS), ("critical", EXIT_CLEAN)],
)
def test_fail_on_sets_exit_status(capsys, fail_on, expected):
    args = ("--format", "jsonl", "--fail-on", fail_on, *CATALOGUE)
    status, _, _ = scan(capsys, str(EXAMPLES), *args)
    assert status == expected


def test_fail_on_counts_alerts_hidden_by_min_severity(capsys):
    args = ["--format", "jsonl", "--min-severity", "critical", "--fail-on", "high", *CATALOGUE]
    status, out, _ = scan(capsys, str(EXAMPLES), *args)
    assert out == ""
    assert status == EXIT_ALERTS


def test_input_errors_name_file_and_position_and_the_scan_goes_on(capsys):
    args = (str(TRUNCATED), str(CLOUDTRAIL_DELETE), "--format", "jsonl", *CATALOGUE)
    status, out, err = scan(capsys, *args)
    assert status == EXIT_ERRORS
    for index in range(3):
        assert (
            f"trailguard: error: {TRUNCATED}: awslogs.data logEvents[{index}]: "
            "log message is not valid JSON (truncated?)"
        ) in err
    assert [a["event_name"] for a in jsonl(out)] == ["DeleteTrail"]


def test_input_errors_win_over_fail_on(capsys):
    status, _, _ = scan(capsys, str(TRUNCATED), str(CLOUDTRAIL_DELETE), "--fail-on", "info")
    assert status == EXIT_ERRORS


def test_missing_path_is_an_input_error(capsys, tmp_path):
    status, _, err = scan(capsys, str(tmp_path / "nope.json"), str(CLOUDTRAIL_DELETE))
    assert status == EXIT_ERRORS
    assert f"{tmp_path / 'nope.json'}: no such file or folder" in err


def test_unknown_severity_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(EXAMPLES), "--fail-on", "severe"])
    assert exit_info.value.code == EXIT_ERRORS
    assert "use one of: info, low, medium, high, critical" in capsys.readouterr().err


def test_stdin_only_once(capsys):
    status, _, err = scan(capsys, "-", "-")
    assert status == EXIT_ERRORS
    assert "'-' (stdin) may be given once" in err


def test_verbose_reports_skips(capsys):
    _, _, err = scan(capsys, str(EXAMPLES), "--format", "jsonl", "-v")
    assert f"trailguard: skipped: {EXAMPLES / 'README.md'}: not JSON (not CloudTrail data)" in err


def test_whole_shared_data_reports_every_bad_input_with_its_place(capsys):
    status, out, err = scan(capsys, str(SHARED_DATA), "--format", "json")
    summary = json.loads(out)["summary"]
    errors = [line for line in err.splitlines() if line.startswith("trailguard: error: ")]
    assert status == EXIT_ERRORS
    assert len(errors) == summary["input"]["invalid"] > 0
    assert all(f"{SHARED_DATA}/" in line for line in errors)
    assert summary["input"]["records"] > 600
    assert summary["findings"] > 400
    # The Stratus events come both as CloudWatch Logs payloads and as S3 log files.
    assert summary["duplicates"] > 200


def test_console_script_reads_gzip_from_stdin():
    """The installed command, as a user runs it, with a gzipped log file piped in."""
    exe = shutil.which("trailguard", path=str(Path(sys.executable).parent))
    assert exe, "the trailguard console script is not installed in this environment"
    done = subprocess.run(
        [exe, "scan", "-", "--format", "jsonl", *CATALOGUE],
        input=CLOUDTRAIL_DELETE.read_bytes(),
        capture_output=True,
        check=False,
    )
    alerts = jsonl(done.stdout.decode())
    assert done.returncode == EXIT_CLEAN, done.stderr
    assert [a["event_name"] for a in alerts] == ["DeleteTrail"]
    assert alerts[0]["source"] == {
        "location": "<stdin>",
        "position": "Records[0]",
        "envelope": "cloudtrail_log_file",
    }


def test_cli_and_lambda_give_identical_alerts(capsys):
    """One engine: the same payloads through `scan` and through the handler alert the same."""
    for payload in sorted(STRATUS_AWSLOGS.glob("*.json")):
        _, out, _ = scan(capsys, str(payload), "--format", "jsonl")
        from_cli = jsonl(out)
        aws_lambda.handler(json.loads(payload.read_text()), None)
        from_lambda = [a for a in jsonl(capsys.readouterr().out) if "rule_id" in a]
        for alert in from_cli + from_lambda:
            del alert["source"]["location"]  # a file path versus the trigger's name
        assert from_cli == from_lambda, payload.name


def test_gzipped_and_plain_log_files_scan_alike(capsys, tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_bytes(gzip.decompress(CLOUDTRAIL_DELETE.read_bytes()))
    _, out_plain, _ = scan(capsys, str(plain), "--format", "jsonl")
    _, out_gzip, _ = scan(capsys, str(CLOUDTRAIL_DELETE), "--format", "jsonl")
    strip = [{k: v for k, v in a.items() if k != "source"} for a in jsonl(out_plain)]
    assert strip == [{k: v for k, v in a.items() if k != "source"} for a in jsonl(out_gzip)]


def test_table_rule_column_fits_every_shipped_rule_id():
    from trailguard.config import Config
    from trailguard.output.table import COLUMNS
    from trailguard.rules.packs import load_packs

    width = dict(COLUMNS)["RULE"]
    loaded = load_packs(Config())
    assert max(map(len, loaded.known_ids())) <= width


def deliver_config(tmp_path, target):
    config = tmp_path / "deliver.yaml"
    config.write_text(
        f'packs: {{catalog: false}}\nsinks: [{{type: file, name: archive, path: "{target}"}}]\n'
    )
    return str(config)


def test_scan_deliver_sends_the_shown_alerts_to_the_sinks(capsys, tmp_path):
    target = tmp_path / "alerts.jsonl"
    args = ("--format", "jsonl", "--min-severity", "high", "--config")
    status, out, err = scan(capsys, str(CLOUDTRAIL_DELETE), *args, deliver_config(tmp_path, target))
    assert status == EXIT_CLEAN
    assert "--deliver" not in err
    assert not target.exists()  # without --deliver, sinks are only checked
    status, out, err = scan(
        capsys, str(CLOUDTRAIL_DELETE), *args, deliver_config(tmp_path, target), "--deliver"
    )
    shown = [a["alert_id"] for a in jsonl(out)]
    delivered = [json.loads(line)["alert_id"] for line in target.read_text().splitlines()]
    assert status == EXIT_CLEAN
    assert delivered == shown
    assert len(shown) == 2
    assert "trailguard: delivered: archive 2" in err


def test_scan_deliver_failure_exits_2_naming_the_sink(capsys, tmp_path):
    target = tmp_path / "folder"
    target.mkdir()
    args = ("--deliver", "--format", "jsonl", "--config", deliver_config(tmp_path, target))
    status, _, err = scan(capsys, str(CLOUDTRAIL_DELETE), *args)
    assert status == EXIT_ERRORS
    assert "trailguard: error: sink 'archive': 2 alert(s) not delivered after 1 attempt(s)" in err
    assert "nothing was remembered, run again" in err


def test_scan_deliver_needs_configured_sinks(capsys):
    status, _, err = scan(capsys, str(CLOUDTRAIL_DELETE), "--deliver")
    assert status == EXIT_ERRORS
    assert "--deliver needs sinks" in err
