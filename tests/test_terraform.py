"""The Terraform in terraform/: formatted, valid, its own tests passing, checkov clean, and
the complete example deployed to moto's server, where a StopLogging record given to the
handler, configured from what Terraform created, reaches the alert topic.

Nothing is skipped: without terraform, the provider mirror or checkov, the tests fail and
say what to install (tests/terraform_support.py). The deployment runs once and takes a few
minutes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import STOP_LOGGING_AWSLOGS, boto3_client, sns_envelopes
from terraform_support import (
    REPO,
    TERRAFORM_ROOT,
    Terraform,
    clean_environment,
    failure,
    make_terraform,
    run_command,
    working_copy,
)
from trailguard import aws_lambda

MODULES = ("modules/trail", "modules/alerting")
ROOTS = (*MODULES, "examples/complete")
EXAMPLE = "examples/complete"
EXAMPLE_OUTPUTS = (
    "trail_arn",
    "log_bucket_name",
    "kms_key_arn",
    "log_group_name",
    "function_name",
    "alert_topic_arn",
    "dead_letter_queue_url",
)
"""The outputs the example promises (docs/deploy.md); it may have more."""
ENDPOINT_SERVICES = (
    "cloudtrail",
    "cloudwatch",
    "dynamodb",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "organizations",
    "s3",
    "secretsmanager",
    "securityhub",
    "sns",
    "sqs",
    "ssm",
    "sts",
)
"""Every service the modules call, sent to moto by the provider override."""
TOOLS_VENV = REPO / ".venv-tools"
INSTALL_CHECKOV = (
    "checkov is not installed: run `make install` (it creates .venv-tools with "
    "`pip install checkov`, apart from the project's .venv), or put checkov on PATH"
)
SKIP_COMMENT = re.compile(r"checkov:skip=(?P<check>[^:\s]*)(?::(?P<reason>.*))?")


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    """Terraform with a CLI configuration pointing at the offline provider mirror."""
    return make_terraform(tmp_path_factory.mktemp("terraform-cli"))


def fresh_copy(tmp: Path) -> Path:
    if not TERRAFORM_ROOT.is_dir():
        pytest.fail(f"{TERRAFORM_ROOT} does not exist")
    return working_copy(tmp)


@pytest.fixture(scope="module")
def initialised(
    terraform: Terraform, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """`terraform init` of a root (a folder under terraform/) in a shared working copy, once."""
    copy = fresh_copy(tmp_path_factory.mktemp("terraform-copy"))
    done: dict[str, Path] = {}

    def init(root: str) -> Path:
        if root not in done:
            folder = copy / root
            if not (folder.is_dir() and any(folder.glob("*.tf"))):
                pytest.fail(f"terraform/{root} holds no .tf files")
            terraform.init(folder)
            done[root] = folder
        return done[root]

    return init


# --- static checks ------------------------------------------------------------------------


def test_terraform_is_formatted(terraform: Terraform) -> None:
    if not TERRAFORM_ROOT.is_dir():
        pytest.fail(f"{TERRAFORM_ROOT} does not exist")
    result = terraform.run(REPO, "fmt", "-check", "-recursive", "-diff", "terraform", check=False)
    assert result.returncode == 0, "run `terraform fmt -recursive terraform/`:\n" + result.stdout


@pytest.mark.parametrize("root", ROOTS)
def test_each_root_initialises_offline_and_validates(
    terraform: Terraform, initialised: Callable[[str], Path], root: str
) -> None:
    terraform.run(initialised(root), "validate")


@pytest.mark.parametrize("module", MODULES)
def test_each_module_passes_its_terraform_tests(
    terraform: Terraform, initialised: Callable[[str], Path], module: str
) -> None:
    folder = initialised(module)
    found = sorted(path.name for path in folder.rglob("*.tftest.hcl"))
    assert found, f"terraform/{module} has no .tftest.hcl files"
    result = terraform.run(folder, "test")
    assert re.search(r"Success! [1-9]\d* passed, 0 failed", result.stdout), result.stdout


def test_the_example_promises_the_documented_outputs() -> None:
    missing = set(EXAMPLE_OUTPUTS) - declared(EXAMPLE, "output")
    assert not missing, sorted(missing)


def declared(root: str, kind: str) -> set[str]:
    """The names of the variables or outputs a folder under terraform/ declares."""
    text = "\n".join(path.read_text() for path in (TERRAFORM_ROOT / root).glob("*.tf"))
    return set(re.findall(rf'^{kind}\s+"([^"]+)"', text, flags=re.MULTILINE))


def markdown_section(path: Path, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    text = path.read_text()
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n")
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", text, re.MULTILINE)]
    end = min((e for e in ends if e > start + 1), default=len(text))
    return text[start:end]


@pytest.mark.parametrize(
    ("document", "heading", "root", "kind"),
    [
        ("docs/deploy.md", "### modules/trail: variables", "modules/trail", "variable"),
        ("docs/deploy.md", "### modules/trail: outputs", "modules/trail", "output"),
        ("docs/deploy.md", "### modules/alerting: variables", "modules/alerting", "variable"),
        ("docs/deploy.md", "### modules/alerting: outputs", "modules/alerting", "output"),
        ("docs/deploy.md", "### examples/complete", EXAMPLE, "output"),
        ("terraform/examples/complete/README.md", "## Inputs", EXAMPLE, "variable"),
        ("terraform/examples/complete/README.md", "## Outputs", EXAMPLE, "output"),
    ],
)
def test_the_deployment_docs_list_every_variable_and_output(
    document: str, heading: str, root: str, kind: str
) -> None:
    section = markdown_section(REPO / document, heading)
    listed = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))
    names = declared(root, kind)
    assert names, f"terraform/{root} declares no {kind}"
    assert names == listed, (
        f"{document} ({heading}) is out of date with terraform/{root}: "
        f"missing {sorted(names - listed)}, stale {sorted(listed - names)}"
    )


def find_checkov() -> str:
    for candidate in (TOOLS_VENV / "bin" / "checkov", shutil.which("checkov")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail(INSTALL_CHECKOV)


def test_checkov_finds_no_failed_checks(tmp_path: Path) -> None:
    checkov = find_checkov()
    command = [
        checkov,
        "-d",
        str(TERRAFORM_ROOT),
        "--framework",
        "terraform",
        "--skip-download",
        "--compact",
        "--quiet",
        "-o",
        "cli",
        "-o",
        "json",
        "--output-file-path",
        str(tmp_path),
    ]
    environment = clean_environment({"BC_SKIP_MAPPING": "TRUE"})
    result = run_command(command, env=environment)
    report = tmp_path / "results_json.json"
    assert report.is_file(), failure(command, result)
    data = json.loads(report.read_text())
    reports = data if isinstance(data, list) else [data]
    summary = {
        key: sum(int(r.get("summary", {}).get(key, 0)) for r in reports)
        for key in ("passed", "failed", "parsing_errors")
    }
    cli_report = tmp_path / "results_cli.txt"
    cli = cli_report.read_text() if cli_report.is_file() else ""
    assert summary["parsing_errors"] == 0, cli or failure(command, result)
    assert summary["failed"] == 0, cli or failure(command, result)
    assert summary["passed"] > 0, f"checkov checked nothing:\n{failure(command, result)}"
    assert result.returncode == 0, failure(command, result)


def test_every_checkov_skip_gives_its_reason() -> None:
    files = sorted(TERRAFORM_ROOT.rglob("*.tf"))
    assert files, f"no .tf files under {TERRAFORM_ROOT}"
    bad = []
    for path in files:
        if ".terraform" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in SKIP_COMMENT.finditer(line):
                check, reason = match["check"], (match["reason"] or "").strip()
                if not re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", check) or len(reason) < 10:
                    bad.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not bad, "write `#checkov:skip=CKV_AWS_NN:why it does not apply`:\n" + "\n".join(bad)


def hcl_documents(paths: list[Path]) -> dict[Path, dict[str, Any]]:
    """The .tf files parsed by python-hcl2 (checkov's parser, in its tool venv)."""
    python = TOOLS_VENV / "bin" / "python"
    if not python.is_file():
        pytest.fail(INSTALL_CHECKOV)
    script = (
        "import json, sys, hcl2\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    with open(name) as f:\n"
        "        out[name] = hcl2.load(f)\n"
        "print(json.dumps(out, default=str))\n"
    )
    result = run_command([str(python), "-c", script, *map(str, paths)])
    assert result.returncode == 0, result.stderr
    return {Path(name): document for name, document in json.loads(result.stdout).items()}


def attribute(body: dict[str, Any], key: str) -> Any:
    """An attribute of a parsed block (python-hcl2 wraps some values in a list)."""
    value = body.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def test_every_variable_and_output_is_described_and_typed() -> None:
    paths = sorted(p for p in TERRAFORM_ROOT.rglob("*.tf") if ".terraform" not in p.parts)
    problems = []
    for path, document in hcl_documents(paths).items():
        where = path.relative_to(REPO)
        for block in document.get("variable", []):
            for name, body in block.items():
                if not str(attribute(body, "description") or "").strip():
                    problems.append(f"{where}: variable {name} has no description")
                if attribute(body, "type") is None:
                    problems.append(f"{where}: variable {name} has no type")
        for block in document.get("output", []):
            for name, body in block.items():
                if not str(attribute(body, "description") or "").strip():
                    problems.append(f"{where}: output {name} has no description")
    assert not problems, "\n".join(problems)


# --- the complete example on moto's server -------------------------------------------------


def provider_override(endpoint: str) -> str:
    """An override file pointing the example's aws provider at moto's server."""
    width = max(map(len, ENDPOINT_SERVICES))
    endpoints = "\n".join(f'    {service:<{width}} = "{endpoint}"' for service in ENDPOINT_SERVICES)
    return (
        'provider "aws" {\n'
        '  region                      = "us-east-1"\n'
        '  access_key                  = "testing"\n'
        '  secret_key                  = "testing"\n'
        "  s3_use_path_style           = true\n"
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_requesting_account_id  = true\n"
        "  skip_region_validation      = true\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n"
    )


def lambda_zip(tmp: Path) -> Path:
    """The deployment package: tools/build_lambda_zip.py's, or the bare package when that
    tool is missing (moto stores the code and never runs it)."""
    target = tmp / "trailguard-lambda.zip"
    tool = REPO / "tools" / "build_lambda_zip.py"
    if tool.is_file():
        command = [sys.executable, str(tool), "--output", str(target)]
        result = run_command(command, cwd=REPO)
        assert result.returncode == 0, failure(command, result)
        assert target.is_file(), failure(command, result)
        return target
    spec = importlib.util.find_spec("trailguard")
    assert spec is not None
    assert spec.origin is not None
    package = Path(spec.origin).parent
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, Path("trailguard") / path.relative_to(package))
    return target


def subscribed_queue(topic_arn: str, name: str) -> str:
    sqs = boto3_client("sqs")
    queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    boto3_client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    return queue_url


class Deployment:
    """The example applied to moto: `terraform destroy` however the test ends."""

    def __init__(self, terraform: Terraform, folder: Path, endpoint: str, zip_path: Path):
        self.terraform = terraform
        self.folder = folder
        self.env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        self.variables = [
            f"-var=lambda_zip_path={zip_path}",
            "-var=force_destroy=true",
            "-var=name_prefix=tg-e2e",
            '-var=alert_email_addresses=["security@example.com"]',
            "-var=enable_cis_metric_filters=true",
            "-var=enable_s3_sqs_trigger=true",
            "-var=enable_eventbridge_trigger=true",
            '-var=tags={"project":"trailguard","purpose":"test"}',
        ]

    def apply(self) -> dict[str, Any]:
        self.terraform.run(self.folder, "apply", "-auto-approve", *self.variables, env=self.env)
        result = self.terraform.run(self.folder, "output", "-json", env=self.env)
        return {name: output["value"] for name, output in json.loads(result.stdout).items()}

    def destroy(self) -> subprocess.CompletedProcess[str]:
        return self.terraform.run(
            self.folder, "destroy", "-auto-approve", *self.variables, env=self.env, check=False
        )


@pytest.fixture
def deployment(terraform: Terraform, aws: str, tmp_path: Path) -> Deployment:
    """The example in a fresh working copy, initialised, pointed at a freshly reset moto."""
    copy = tmp_path / "copy"
    copy.mkdir()
    folder = fresh_copy(copy) / EXAMPLE
    terraform.init(folder)
    (folder / "provider_override.tf").write_text(provider_override(aws))
    return Deployment(terraform, folder, aws, lambda_zip(tmp_path))


def test_the_complete_example_deploys_and_alerts_end_to_end(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's "done when": `terraform apply` of examples/complete (on moto), then the
    handler, configured exactly as the deployed function is (the SSM parameter Terraform
    wrote: an sns sink to the alert topic, state in the DynamoDB table), turns a StopLogging
    record from the trail's log group into a high alert on the topic; a second container
    finds it delivered already, in the table, and stays quiet. Then `terraform destroy`."""
    problem: BaseException | None = None
    try:
        outputs = deployment.apply()
        missing = set(EXAMPLE_OUTPUTS) - set(outputs)
        assert not missing, f"examples/complete lacks outputs {sorted(missing)}"
        assert all(outputs[name] for name in EXAMPLE_OUTPUTS), outputs
        assert outputs.get("config_parameter_name"), outputs

        # The wiring the handler call below stands in for: the trail logs into the log
        # group, the group's subscription invokes the function, which reads the parameter.
        status = boto3_client("cloudtrail").get_trail_status(Name=outputs["trail_arn"])
        assert status["IsLogging"], status
        [subscription] = boto3_client("logs").describe_subscription_filters(
            logGroupName=outputs["log_group_name"]
        )["subscriptionFilters"]
        assert subscription["destinationArn"] == outputs["function_arn"], subscription
        function = boto3_client("lambda").get_function_configuration(
            FunctionName=outputs["function_name"]
        )
        assert function["Handler"] == "trailguard.aws_lambda.handler", function
        assert function["Environment"]["Variables"] == {
            aws_lambda.CONFIG_ENV: f"ssm:{outputs['config_parameter_name']}"
        }, function

        monkeypatch.setenv(aws_lambda.CONFIG_ENV, f"ssm:{outputs['config_parameter_name']}")
        monkeypatch.setattr(aws_lambda, "_runtime", None)
        inbox = subscribed_queue(outputs["alert_topic_arn"], "tg-e2e-inbox")
        event = json.loads(STOP_LOGGING_AWSLOGS.read_text())

        summary = aws_lambda.handler(event, None)
        alerts = [json.loads(envelope["Message"]) for envelope in sns_envelopes(inbox)]
        stopped = [a for a in alerts if a["rule_id"] == "threats.cloudtrail_stopped"]
        assert [(a["severity"], a["event_id"]) for a in stopped] == [
            ("high", "10163ed2-2253-469d-a5ee-cbc6651f8934")
        ], alerts
        assert summary["alerts"] >= len(alerts), summary

        monkeypatch.setattr(aws_lambda, "_runtime", None)  # a new container: state from DynamoDB
        again = aws_lambda.handler(event, None)
        assert (again["alerts"], again["duplicates"]) == (0, summary["alerts"]), again
        assert sns_envelopes(inbox) == []
    except BaseException as exc:
        problem = exc
        raise
    finally:
        result = deployment.destroy()
        if result.returncode != 0 and problem is None:
            pytest.fail("terraform destroy failed:\n" + failure(["terraform", "destroy"], result))
