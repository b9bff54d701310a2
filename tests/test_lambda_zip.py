"""tools/build_lambda_zip.py: the Lambda deployment package.

The package is built for this machine's Python (the Lambda runtime's would not import
here) and platform, twice, from the repository: the two zips must be the same bytes, hold
trailguard, its rule packs and its runtime dependencies and nothing the Lambda runtime
provides, and the handler must run from the unzipped folder alone, in a Python that sees
nothing else (no site-packages), on a real CloudWatch Logs subscription payload.

The build downloads wheels from the package index (PyPI). Without network access these
tests fail, saying so; they never skip.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "build_lambda_zip.py"
PACKS = REPO / "src" / "trailguard" / "rules" / "packs"
PAYLOAD = (
    REPO
    / "tests/fixtures/shared_data/envelopes/cloudwatch_logs/stratus_awslogs"
    / "stratus_aws.defense-evasion.cloudtrail-stop.json"
)
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64"}
PROVIDED_BY_LAMBDA = ("boto3", "botocore", "s3transfer", "moto")
BUILD_TIMEOUT = 900


def wheel_platform() -> str:
    """The manylinux platform of this machine, for a package that imports here."""
    machine = platform.machine().lower()
    if sys.platform != "linux" or machine not in PLATFORMS:
        pytest.fail(
            f"the package is built for Linux (manylinux wheels, as Lambda runs); this test "
            f"imports it here, so it needs Linux on x86_64 or aarch64, not "
            f"{sys.platform}/{machine}"
        )
    return PLATFORMS[machine]


@dataclass(frozen=True)
class Build:
    path: Path
    stdout: str


def build(output: Path, *options: str) -> Build:
    command = [
        sys.executable,
        str(TOOL),
        "--output",
        str(output),
        "--python-version",
        PYTHON_VERSION,
        "--platform",
        wheel_platform(),
        *options,
    ]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{' '.join(command)}` did not finish in {BUILD_TIMEOUT}s: {exc}")
    if result.returncode != 0:
        pytest.fail(
            "building the Lambda package failed. It downloads binary wheels from PyPI (or "
            "the configured index): this test needs that network access and does not skip "
            f"without it.\ncommand: {' '.join(command)}\nexit status: {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
    assert output.is_file(), result.stdout
    return Build(output, result.stdout)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Build, Build]:
    """Two builds, into different folders under different names."""
    folder = tmp_path_factory.mktemp("lambda-zip")
    return build(folder / "one" / "trailguard-lambda.zip"), build(folder / "two" / "second.zip")


@pytest.fixture(scope="module")
def package(builds: tuple[Build, Build]) -> zipfile.ZipFile:
    return zipfile.ZipFile(builds[0].path)


@pytest.fixture(scope="module")
def names(package: zipfile.ZipFile) -> list[str]:
    return package.namelist()


def test_two_builds_are_the_same_bytes(builds: tuple[Build, Build]) -> None:
    first, second = (b.path.read_bytes() for b in builds)
    assert first == second, "two builds of the same tree differ: the zip is not reproducible"


def test_the_build_prints_the_path_and_its_sha256(builds: tuple[Build, Build]) -> None:
    first = builds[0]
    digest = hashlib.sha256(first.path.read_bytes()).digest()
    lines = first.stdout.splitlines()
    assert lines[0] == str(first.path)
    assert f"sha256 {digest.hex()}" in lines
    assert f"filebase64sha256 {base64.b64encode(digest).decode()}" in lines


def test_the_package_holds_trailguard_its_rule_packs_and_dependencies(names: list[str]) -> None:
    listed = set(names)
    assert "trailguard/aws_lambda.py" in listed
    assert "trailguard/__init__.py" in listed
    packs = {
        "trailguard/rules/packs/" + path.relative_to(PACKS).as_posix()
        for path in PACKS.rglob("*")
        if path.is_file() and path.suffix in (".yaml", ".yml")
    }
    assert packs, f"no rule packs found under {PACKS}"
    assert packs <= listed, sorted(packs - listed)[:10]
    assert "orjson/__init__.py" in listed
    assert any(
        n.startswith("orjson/")
        and n.endswith(".so")
        and f"cpython-{PYTHON_VERSION.replace('.', '')}" in n
        for n in names
    ), "orjson's compiled module for this Python is missing"
    assert "yaml/__init__.py" in listed
    assert any(n.startswith("trailguard-") and n.endswith(".dist-info/METADATA") for n in names)


def test_the_package_leaves_out_what_lambda_provides_and_build_leftovers(
    names: list[str],
) -> None:
    tops = {PurePosixPath(n).parts[0] for n in names}
    for provided in PROVIDED_BY_LAMBDA:
        assert provided not in tops, f"{provided} is in the package; the Lambda runtime has it"
        assert not any(t.lower().startswith(f"{provided}-") for t in tops), provided
    assert not [n for n in names if n.endswith(".pyo")]
    assert "bin" not in tops, "console scripts (with this machine's interpreter path) were kept"
    assert not [n for n in names if n.endswith("/direct_url.json")], (
        "direct_url.json names the checkout"
    )


def test_the_package_carries_bytecode_for_its_runtime(names: list[str]) -> None:
    """Built with the runtime's own Python: every module has its unchecked-hash bytecode,
    and nothing else is cached."""
    tag = sys.implementation.cache_tag
    sources = [n for n in names if n.endswith(".py")]
    cached = {n for n in names if n.endswith(".pyc")}
    expected = {
        str(PurePosixPath(n).parent / "__pycache__" / f"{PurePosixPath(n).stem}.{tag}.pyc")
        for n in sources
    }
    assert "trailguard/__pycache__/aws_lambda." + tag + ".pyc" in cached
    assert cached == expected


def test_bytecode_is_unchecked_hash_based(package: zipfile.ZipFile) -> None:
    """No timestamps in the header (reproducible), and never checked against the source."""
    data = package.read(f"trailguard/__pycache__/aws_lambda.{sys.implementation.cache_tag}.pyc")
    flags = int.from_bytes(data[4:8], "little")
    assert flags == 0b01  # hash-based, check_source off


def test_without_bytecode_when_asked(tmp_path: Path) -> None:
    """--no-bytecode: sources alone, and the build says nothing about bytecode."""
    built = build(tmp_path / "plain.zip", "--no-bytecode")
    names = zipfile.ZipFile(built.path).namelist()
    assert "trailguard/aws_lambda.py" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]


def test_entries_are_sorted_with_fixed_times_and_modes(package: zipfile.ZipFile) -> None:
    infos = package.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert len({i.filename for i in infos}) == len(infos)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        assert info.external_attr >> 16 == 0o100644, info.filename
        assert info.create_system == 3, info.filename
        assert not info.is_dir(), info.filename


def test_each_record_lists_exactly_the_packaged_files(package: zipfile.ZipFile) -> None:
    names = set(package.namelist())
    recorded: set[str] = set()
    records = [n for n in names if n.endswith(".dist-info/RECORD")]
    assert len(records) >= 3, records
    for record in records:
        rows = list(csv.reader(io.StringIO(package.read(record).decode())))
        paths = [row[0] for row in rows if row]
        assert paths[-1] == record, f"{record} should list itself last"
        assert paths[:-1] == sorted(paths[:-1]), f"{record} is not sorted"
        missing = [p for p in paths if p not in names]
        assert not missing, f"{record} lists files not in the package: {missing[:5]}"
        for row in rows[:-1]:
            data = package.read(row[0])
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert row[1] == f"sha256={digest.decode()}", row[0]
            assert row[2] == str(len(data)), row[0]
        recorded.update(paths)
    assert names <= recorded, f"files no RECORD lists: {sorted(names - recorded)[:5]}"


HANDLER_SCRIPT = """
import importlib.util, importlib._bootstrap_external as external, json, sys
folder = sys.argv[1]
compiled = []
source_to_code = external.SourceLoader.source_to_code
def spy(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = spy
import trailguard.aws_lambda as entry
import orjson, yaml
origins = {m.__name__: m.__file__ for m in (entry, orjson, yaml)}
outside = {k: v for k, v in origins.items() if not v.startswith(folder)}
assert not outside, f"imported from outside the package: {outside}"
assert importlib.util.find_spec("boto3") is None, "boto3 is importable: not isolated"

class Context:
    function_name = "trailguard"

with open(sys.argv[2], "rb") as f:
    event = json.load(f)
result = entry.handler(event, Context())
assert "boto3" not in sys.modules
assert not compiled, f"compiled at import, though the package has bytecode: {compiled[:5]}"
print(json.dumps({"log_type": "test.result", "result": result}))
"""


def test_the_handler_runs_from_the_unzipped_package_alone(
    package: zipfile.ZipFile, tmp_path: Path
) -> None:
    folder = tmp_path / "unzipped"
    package.extractall(folder)
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "PYTHON", "TRAILGUARD_"))
    }
    environment.update({"PYTHONPATH": str(folder), "PYTHONNOUSERSITE": "1"})
    folder.chmod(0o555)  # read-only, as the function's folder is: nothing may be cached
    command = [sys.executable, "-S", "-c", HANDLER_SCRIPT, str(folder), str(PAYLOAD)]
    result = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=300, check=False
    )
    assert result.returncode == 0, (
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    summary = lines[-1]["result"]
    assert summary["trigger"] == "cloudwatch_logs"
    assert summary["alerts"] >= 1, summary
    alerts = [line for line in lines if "rule_id" in line and "alert_id" in line]
    assert "threats.cloudtrail_stopped" in {a["rule_id"] for a in alerts}, [
        a["rule_id"] for a in alerts
    ]
