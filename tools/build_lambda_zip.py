"""Build the Lambda deployment package: trailguard and its runtime dependencies, one zip.

Run: `python tools/build_lambda_zip.py [--output dist/trailguard-lambda.zip]
[--python-version 3.12] [--platform manylinux2014_x86_64]` (or `make lambda-zip`), then
give the zip's path to the Terraform module (`lambda_zip_path`).

What goes in: this repository's package and its runtime dependencies (isal, msgspec,
orjson, PyYAML) as pip installs them for the Lambda runtime's Python and platform (binary
wheels only, so the compiled parts are the ones Lambda can load, whatever machine builds).
What stays out: boto3 and botocore, which the Lambda Python runtime provides, and console
scripts. Bytecode goes in only when this Python is the runtime's version (build with Python
3.12 for python3.12): compiled here in one fresh process, in name order, as unchecked-hash
`.pyc` files (no timestamps, so builds stay reproducible; the package is never edited in
place, so the source need not be checked). The function's folder is read-only, so without
them every cold start compiles every module it imports (25 to 30 ms of import time on the
development machine: the two cold-start rows of `docs/performance.md`).

The zip is reproducible: the same sources and the same dependency versions give the same
bytes, on any machine and at any time. Entries are sorted, every timestamp is 1980-01-01,
every file is mode 0644, and what records where or when pip installed (`direct_url.json`,
the console scripts) is dropped, with each `RECORD` rewritten to list exactly the files
kept. The dependencies are the newest that pip finds unless `--constraint FILE` pins them.

Needs network access to the package index (PyPI). Prints the zip's path and its SHA-256,
in hex and in base64 (what Terraform's filebase64sha256 gives, the function's
source_code_hash).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "dist" / "trailguard-lambda.zip"
DEFAULT_PYTHON_VERSION = "3.12"
DEFAULT_PLATFORM = "manylinux2014_x86_64"
RUNTIME_DEPENDENCIES = ("isal", "msgspec", "orjson", "PyYAML")
"""pyproject.toml's `dependencies`, named again so that pip fetches them as binary wheels."""
PROVIDED_BY_LAMBDA = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil")
"""Top-level names the Lambda Python runtime provides; none may end up in the zip."""
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
DROPPED_DIRS = frozenset({"bin"})
DROPPED_SUFFIXES = (".pyo",)
DROPPED_DIST_INFO_FILES = frozenset({"direct_url.json"})
"""Written by pip with the absolute path of the source tree: differs per checkout."""


class BuildError(RuntimeError):
    """The package could not be built; the message says what failed and what to check."""


def pip_install(
    target: Path,
    python_version: str,
    platform: str,
    constraint: Path | None = None,
) -> None:
    """Install the package and its runtime dependencies into `target` for Lambda."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",
        "--no-warn-script-location",
        "--disable-pip-version-check",
        "--target",
        str(target),
        "--platform",
        platform,
        "--only-binary=:all:",
        "--python-version",
        python_version,
        "--implementation",
        "cp",
    ]
    if constraint is not None:
        command += ["--constraint", str(constraint)]
    command += [str(REPO), *RUNTIME_DEPENDENCIES]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(
            f"pip could not install trailguard and {', '.join(RUNTIME_DEPENDENCIES)} for "
            f"Python {python_version} on {platform} (exit status {result.returncode}). The "
            "build downloads binary wheels from the package index: check the network "
            "access to PyPI (or the configured index), the proxy settings, and that wheels "
            "exist for this Python version and platform.\n"
            f"command: {' '.join(command)}\n--- pip's output ---\n"
            f"{result.stdout}{result.stderr}"
        )


COMPILE_SCRIPT = """
import compileall, py_compile, sys
ok = compileall.compile_dir(
    sys.argv[1],
    quiet=2,
    workers=1,
    stripdir=sys.argv[1],
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
)
sys.exit(0 if ok else 1)
"""
"""One process, one worker, files in directory order: marshal's output depends on what the
compiling process holds, so the same steps must give the same bytes. File names are
recorded relative to the package (the import system puts the real path back on load)."""


def same_python(python_version: str) -> bool:
    return python_version == f"{sys.version_info.major}.{sys.version_info.minor}"


def drop_bytecode(target: Path) -> None:
    """No bytecode but ours: none is expected (pip runs with --no-compile)."""
    for path in target.rglob("*.pyc"):
        path.unlink()


def compile_bytecode(target: Path) -> None:
    """Unchecked-hash bytecode for every module under `target`, or BuildError."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", COMPILE_SCRIPT, str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(
            "compiling the package's modules to bytecode failed (a module that does not "
            "parse for this Python?). Build without bytecode with --no-bytecode, or fix the "
            f"module:\n{result.stdout}{result.stderr}"
        )


def _dropped(relative: PurePosixPath) -> bool:
    if any(part in DROPPED_DIRS for part in relative.parts[:-1]):
        return True
    if relative.suffix in DROPPED_SUFFIXES:
        return True
    parent = relative.parent.name
    return parent.endswith(".dist-info") and relative.name in DROPPED_DIST_INFO_FILES


def kept_files(root: Path) -> list[PurePosixPath]:
    """The files to package, relative to `root`, sorted by name."""
    files = []
    for path in root.rglob("*"):
        if path.is_file():
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if not _dropped(relative):
                files.append(relative)
    return sorted(files, key=str)


def normalised_record(record: Path, root: Path, kept: set[PurePosixPath]) -> bytes:
    """A dist-info RECORD listing exactly the kept files, sorted, RECORD itself last: with
    the bytecode compiled for the modules it lists."""
    own = PurePosixPath(record.relative_to(root).as_posix())
    rows = []
    with record.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if not row:
                continue
            path = PurePosixPath(row[0])
            if path != own and path in kept and path.suffix != ".pyc":
                rows.append(row)
                if path.suffix == ".py":
                    rows.extend(_bytecode_rows(path, root, kept))
    rows.sort(key=lambda row: row[0])
    rows.append([str(own), "", ""])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _bytecode_rows(source: PurePosixPath, root: Path, kept: set[PurePosixPath]) -> list[list[str]]:
    """The RECORD row (path, hash, size) of `source`'s bytecode, if the package holds it."""
    path = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
    if path not in kept:
        return []
    data = (root / path).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return [[str(path), f"sha256={digest.decode()}", str(len(data))]]


def check_contents(files: Sequence[PurePosixPath]) -> None:
    tops = {path.parts[0] for path in files}
    if "trailguard" not in tops or PurePosixPath("trailguard/aws_lambda.py") not in files:
        raise BuildError("the package has no trailguard/aws_lambda.py: pip installed nothing?")
    present = sorted(tops & set(PROVIDED_BY_LAMBDA))
    if present:
        raise BuildError(
            f"{', '.join(present)} ended up in the package, but the Lambda runtime provides "
            "it: a runtime dependency of trailguard must have started requiring it"
        )


def write_zip(root: Path, output: Path) -> None:
    files = kept_files(root)
    check_contents(files)
    kept = set(files)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for relative in files:
            path = root / relative
            if relative.name == "RECORD" and relative.parent.name.endswith(".dist-info"):
                data = normalised_record(path, root, kept)
            else:
                data = path.read_bytes()
            info = zipfile.ZipInfo(str(relative), date_time=FIXED_DATE)
            info.create_system = 3  # Unix, so that external_attr holds the mode
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    partial.replace(output)


def digests(path: Path) -> tuple[str, str]:
    """The file's SHA-256 in hex, and in base64 (Terraform's filebase64sha256)."""
    digest = hashlib.sha256(path.read_bytes()).digest()
    return digest.hex(), base64.b64encode(digest).decode("ascii")


def build(
    output: Path,
    python_version: str = DEFAULT_PYTHON_VERSION,
    platform: str = DEFAULT_PLATFORM,
    constraint: Path | None = None,
    bytecode: bool = True,
) -> bool:
    """Build the zip at `output`; whether it holds bytecode (only for this Python's version)."""
    with tempfile.TemporaryDirectory(prefix="trailguard-lambda-") as tmp:
        target = Path(tmp) / "package"
        pip_install(target, python_version, platform, constraint)
        drop_bytecode(target)
        compiled = bytecode and same_python(python_version)
        if compiled:
            compile_bytecode(target)
        write_zip(target, output)
    return compiled


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="build_lambda_zip.py",
        description="Build trailguard's Lambda deployment package (reproducible zip).",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the zip (default: dist/trailguard-lambda.zip in the repository)",
    )
    parser.add_argument(
        "--python-version",
        default=DEFAULT_PYTHON_VERSION,
        help="the Lambda runtime's Python version, e.g. 3.12 for python3.12 (default: 3.12)",
    )
    parser.add_argument(
        "--platform",
        default=DEFAULT_PLATFORM,
        help="wheel platform: manylinux2014_x86_64 (default) or manylinux2014_aarch64 for "
        "arm64 functions",
    )
    parser.add_argument(
        "--constraint",
        type=Path,
        default=None,
        help="a pip constraints file pinning the dependencies' versions",
    )
    parser.add_argument(
        "--no-bytecode",
        dest="bytecode",
        action="store_false",
        help="leave bytecode out even when this Python is the runtime's version",
    )
    args = parser.parse_args(argv)
    if not all(part.isdigit() for part in args.python_version.split(".")):
        parser.error(f"--python-version {args.python_version!r}: expected e.g. 3.12")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    output = args.output.resolve()
    try:
        compiled = build(output, args.python_version, args.platform, args.constraint, args.bytecode)
    except BuildError as exc:
        print(f"build_lambda_zip: error: {exc}", file=sys.stderr)
        return 1
    if args.bytecode and not compiled:
        print(
            f"build_lambda_zip: note: no bytecode in the package: this is Python "
            f"{sys.version_info.major}.{sys.version_info.minor}, the runtime is "
            f"{args.python_version}; build with Python {args.python_version} to ship it "
            "(each cold start then compiles the modules it imports)",
            file=sys.stderr,
        )
    hex_digest, b64_digest = digests(output)
    print(output)
    print(f"sha256 {hex_digest}")
    print(f"filebase64sha256 {b64_digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
