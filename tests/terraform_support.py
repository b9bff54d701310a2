"""Running Terraform from the tests: the binary, the offline provider mirror, working copies.

No registry is reachable where the tests run: the AWS provider comes from a filesystem
mirror (a folder holding `registry.terraform.io/hashicorp/aws/...`), found at run time and
named in a CLI configuration file written for the session. Every Terraform command runs on
a copy of `terraform/` in a temporary folder, so `.terraform/`, lock files and state never
land in the repository, and with an environment stripped of AWS credentials and Terraform
settings, so a developer's profile can never reach a real account.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TERRAFORM_ROOT = REPO / "terraform"
MIRROR_ENV = "TRAILGUARD_TF_MIRROR"
"""Overrides the search: the folder holding `registry.terraform.io` (or that folder itself)."""
TERRAFORM_ENV = "TRAILGUARD_TERRAFORM"
"""Overrides `shutil.which("terraform")`: the path of the binary."""
PROVIDER = "registry.terraform.io/hashicorp/aws"
SEARCH_DEPTH = 4
"""Like `find / -maxdepth 4 -type d -name registry.terraform.io`."""
NOT_SEARCHED = frozenset({"/proc", "/sys", "/dev", "/run"})
COMMAND_TIMEOUT = 900
"""Seconds before a command is taken as hung and killed (a guard against a provider waiting
forever on an API moto lacks, not an assertion: the example's apply takes two or three)."""
OUTPUT_LINES = 150
"""The last lines of a failed command's stdout shown (Terraform's errors are on stderr)."""

INSTALL_TERRAFORM = (
    "terraform is not on PATH. Install Terraform >= 1.7 (https://developer.hashicorp.com/"
    f"terraform/install) or set {TERRAFORM_ENV} to the binary; the Terraform tests cannot "
    "run without it."
)
INSTALL_MIRROR = (
    "no Terraform provider mirror holding hashicorp/aws was found (searched / to depth "
    f"{SEARCH_DEPTH} for a folder named registry.terraform.io). Create one with "
    "`terraform providers mirror <DIR>` in terraform/examples/complete on a machine with "
    f"registry access (or unpack terraform-provider-aws 5.x into <DIR>/{PROVIDER}/"
    f"<VERSION>/<OS_ARCH>/), then set {MIRROR_ENV}=<DIR>."
)


def find_terraform() -> str:
    """The Terraform binary, or the test fails saying how to get one."""
    override = os.environ.get(TERRAFORM_ENV)
    if override:
        if not os.access(override, os.X_OK):
            pytest.fail(f"{TERRAFORM_ENV}={override} is not an executable file")
        return override
    found = shutil.which("terraform")
    if found is None:
        pytest.fail(INSTALL_TERRAFORM)
    return found


def _holds_provider(registry_dir: Path) -> bool:
    aws = registry_dir / "hashicorp" / "aws"
    return aws.is_dir() and any(aws.iterdir())


def _registry_dirs(root: Path, depth: int) -> Iterator[Path]:
    """Folders named registry.terraform.io under `root`, at most `depth` levels down."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        if entry.path in NOT_SEARCHED or entry.name == ".terraform":
            continue
        if entry.name == "registry.terraform.io":
            yield Path(entry.path)
        elif depth > 1:
            yield from _registry_dirs(Path(entry.path), depth - 1)


def find_mirror() -> Path:
    """The filesystem mirror's path (the folder holding registry.terraform.io)."""
    override = os.environ.get(MIRROR_ENV)
    if override:
        path = Path(override)
        registry = path if path.name == "registry.terraform.io" else path / "registry.terraform.io"
        if not _holds_provider(registry):
            pytest.fail(f"{MIRROR_ENV}={override}: no {PROVIDER} under {registry}")
        return registry.parent
    for registry in _registry_dirs(Path("/"), SEARCH_DEPTH):
        if _holds_provider(registry):
            return registry.parent
    pytest.fail(INSTALL_MIRROR)


def cli_config(mirror: Path) -> str:
    """A Terraform CLI configuration installing hashicorp/aws from the mirror, and nothing
    from the network."""
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f'    include = ["{PROVIDER}"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "}\n"
    )


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without AWS or Terraform settings, plus `extra`."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TF_")) and key != "CHECKPOINT_DISABLE"
    }
    return {**kept, **(extra or {})}


@dataclass(frozen=True)
class Terraform:
    """The Terraform binary with its CLI configuration; `run` fails the test with the output."""

    binary: str
    cli_config_file: Path

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return clean_environment(
            {
                "TF_CLI_CONFIG_FILE": str(self.cli_config_file),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
                **(extra or {}),
            }
        )

    def run(
        self,
        folder: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        subcommand, *options = args
        command = [self.binary, f"-chdir={folder}", subcommand, "-no-color", *options]
        result = run_command(command, env=self.environment(env))
        if check and result.returncode != 0:
            pytest.fail(failure(command, result))
        return result

    def init(self, folder: Path) -> None:
        self.run(folder, "init", "-backend=false", "-input=false")


def run_command(
    command: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run to completion; a hung command is killed with its process group (Terraform's
    provider plugins too) and fails the test."""
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        hung = subprocess.CompletedProcess(command, -9, stdout, stderr)
        pytest.fail(f"killed after {COMMAND_TIMEOUT}s without finishing:\n{failure(command, hung)}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def describe(command: Sequence[str]) -> str:
    return " ".join(command)


def failure(command: Sequence[str], result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stdout.splitlines()
    stdout = "\n".join(lines[-OUTPUT_LINES:])
    if len(lines) > OUTPUT_LINES:
        stdout = f"[{len(lines) - OUTPUT_LINES} lines before these left out]\n{stdout}"
    return (
        f"`{describe(command)}` exited with {result.returncode}\n"
        f"--- stdout ---\n{stdout}\n--- stderr ---\n{result.stderr}"
    )


def make_terraform(tmp: Path) -> Terraform:
    """Terraform and the mirror found, the CLI configuration written into `tmp`."""
    binary = find_terraform()
    config = tmp / "terraform.rc"
    config.write_text(cli_config(find_mirror()))
    return Terraform(binary, config)


_NOT_COPIED = shutil.ignore_patterns(
    ".terraform", "terraform.tfstate", "terraform.tfstate.*", "*.tfplan", "crash.log"
)


def working_copy(tmp: Path) -> Path:
    """A copy of the repository's `terraform/` at `tmp/terraform`, its siblings linked.

    The copy keeps the tree's shape, so `source = "../../modules/trail"` and test files'
    relative paths (`../../../tools/...`) resolve as in the repository; the repository's
    other top-level folders and files are symlinked beside it, never written.
    """
    root = tmp / "repo"
    root.mkdir()
    for entry in REPO.iterdir():
        if entry.name == "terraform" or entry.name.startswith(".git"):
            continue
        (root / entry.name).symlink_to(entry)
    shutil.copytree(TERRAFORM_ROOT, root / "terraform", ignore=_NOT_COPIED, symlinks=True)
    return root / "terraform"
