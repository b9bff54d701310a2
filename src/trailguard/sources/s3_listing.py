"""Listing CloudTrail log files in S3 over a range of days, without listing the whole bucket.

CloudTrail writes `[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz`. The accounts and regions are found
level by level with `Delimiter='/'` (a few requests, whatever the bucket holds); then each
region folder is listed from the first day of the range (`StartAfter`) and the listing stops
at the first key past the last day. Keys come back in S3's order (UTF-8 binary, the same as
Python's string order), and region folders are walked sorted, so the whole listing is in key
order: a resumed listing starts after the last key sent (`start_after`). Insights events
(`CloudTrail-Insight/`) are log files too; digest folders and other services' folders are
never entered; keys that are not `.json.gz` log files are skipped and reported.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from trailguard import aws

SCHEME = "s3://"
AWSLOGS = "AWSLogs/"
SERVICE = "CloudTrail"
LOG_FOLDERS = (SERVICE, "CloudTrail-Insight")
"""The folders of an account that hold log files (as `s3_objects` reads them)."""
DIGESTS = "CloudTrail-Digest"
LOG_SUFFIX = ".json.gz"
OBJECT_SUFFIXES = (".gz", ".json", ".jsonl")
"""A URL whose last part ends so names one object (`trailguard scan s3://b/key.json.gz`)."""

_ACCOUNT = re.compile(r"\d{12}\Z")
_ORG = re.compile(r"o-[a-z0-9]{10,32}\Z")
_DAY_PATH = re.compile(r"(\d{4})/(\d{2})/(\d{2})/")
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,254}\Z")

SkipListener = Callable[[str, str], None]
"""Told `(s3 url, reason)` for each key or folder listed but not yielded."""


class ListingError(Exception):
    """A listing that cannot be done; the message says what to change or which permission."""


@dataclass(frozen=True, slots=True)
class S3Location:
    """`s3://BUCKET/PREFIX`: a folder of the trail's bucket, or one object."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        if not url.startswith(SCHEME):
            raise ValueError(f"{url!r} is not an S3 URL; write s3://BUCKET/PREFIX")
        bucket, _, prefix = url[len(SCHEME) :].partition("/")
        if not _BUCKET.match(bucket):
            raise ValueError(
                f"{url!r} does not start with a bucket name; write s3://BUCKET/PREFIX, e.g. "
                "s3://my-trail-bucket/AWSLogs/"
            )
        prefix = prefix.lstrip("/")
        if prefix and not prefix.endswith("/") and not prefix.endswith(OBJECT_SUFFIXES):
            prefix += "/"  # a folder named without its slash
        return cls(bucket, prefix)

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"

    @property
    def names_object(self) -> bool:
        return bool(self.prefix) and not self.prefix.endswith("/")


@dataclass(frozen=True, slots=True)
class DayRange:
    """Inclusive UTC days; an open end reads from the first or to the last log file."""

    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def parse(cls, since: str | None, until: str | None, *, until_today: bool) -> DayRange:
        """From `--since`/`--until` (YYYY-MM-DD); `until_today` closes the range at today."""
        first = parse_day(since, "--since") if since else None
        last = parse_day(until, "--until") if until else None
        if last is None and until_today:
            last = dt.datetime.now(dt.UTC).date()
        if first and last and first > last:
            raise ValueError(
                f"--since {first} is after --until {last}; the range is inclusive, UTC"
            )
        return cls(first, last)

    def __str__(self) -> str:
        return f"{self.since or '…'}..{self.until or '…'}"

    def key_start(self, folder: str) -> str | None:
        """`StartAfter` for a region folder: just before the first day's keys."""
        return folder + self.since.strftime("%Y/%m/%d") if self.since else None

    def past(self, day_path: str) -> bool:
        """Whether a key's `YYYY/MM/DD` part (or anything sorting there) is after the range."""
        return self.until is not None and day_path > self.until.strftime("%Y/%m/%d")

    def __contains__(self, day: dt.date) -> bool:
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until
        )


def parse_day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date; write YYYY-MM-DD (UTC)") from None


@dataclass(frozen=True, slots=True)
class ListedObject:
    """A CloudTrail log file: its key, size in bytes, and day (`YYYY-MM-DD`, or '')."""

    key: str
    size: int
    day: str


def is_s3_url(text: str) -> bool:
    return text.startswith(SCHEME)


def explain_error(
    exc: Exception, action: str, *, bucket: str, permission: str, resource: str
) -> str:
    """An AWS error as a sentence that says what to do next."""
    if isinstance(exc, aws.AwsUnavailableError):
        return str(exc)
    name = type(exc).__name__
    if name in {"NoCredentialsError", "PartialCredentialsError"}:
        return (
            f"cannot {action}: no AWS credentials found; configure them (aws configure, "
            "AWS_PROFILE, or the machine's role)"
        )
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = str(error.get("Code", name))
    detail = str(error.get("Message") or exc)
    if code == "NoSuchBucket":
        return (
            f"cannot {action}: bucket {bucket!r} does not exist; check the s3:// URL (the "
            "trail's bucket: `aws cloudtrail describe-trails`)"
        )
    if code in {"AccessDenied", "AllAccessDisabled", "403", "Forbidden"}:
        return (
            f"cannot {action}: access denied; the caller needs {permission} on {resource}, "
            "and the bucket policy (and any SCP) must allow it"
        )
    if code in {"NoSuchKey", "404", "NotFound"}:
        return f"cannot {action}: no such object; check the key"
    if aws.is_transient(exc):
        return f"cannot {action}: {code}: {detail}; S3 is busy or unreachable, try again"
    return f"cannot {action}: {code}: {detail}"


class CloudTrailListing:
    """The CloudTrail log files under a location, within a day range, in key order.

    Iterating lists the objects; `folders` (the region folders, once found) and `folder`
    (the one being listed) are there for progress reports.
    """

    def __init__(
        self,
        location: S3Location,
        days: DayRange,
        *,
        s3: Any | None = None,
        start_after: str | None = None,
        on_skip: SkipListener | None = None,
    ) -> None:
        self.location = location
        self.days = days
        self.start_after = start_after
        self.folders: list[str] = []
        self.folder = ""
        self._s3 = s3
        self._on_skip = on_skip

    def __iter__(self) -> Iterator[ListedObject]:
        location = self.location
        if location.names_object:
            yield from self._one_object(location.prefix)
            return
        plan = self._plan()
        self.folders = sorted(plan)
        for folder in self.folders:
            if (
                self.start_after
                and self.start_after > folder
                and not self.start_after.startswith(folder)
            ):
                continue  # every key of this folder was sent before
            self.folder = folder
            yield from self._days(folder, plan[folder])

    # --- finding the region folders ---------------------------------------------------

    def _plan(self) -> dict[str, str]:
        """Region folder -> the prefix to list in it (the folder, or a day inside it)."""
        prefix = self.location.prefix
        at = prefix.find(AWSLOGS)
        children: list[str] | None = None
        if at < 0:
            awslogs = prefix + AWSLOGS
            children = self._children(awslogs)
            if not children:
                raise ListingError(self._no_layout_message(prefix))
            rest: list[str] = []
        else:
            awslogs = prefix[: at + len(AWSLOGS)]
            rest = prefix[at + len(AWSLOGS) :].split("/")[:-1]
        accounts, rest = self._accounts(awslogs, rest, children)
        return {
            folder: narrowed
            for account in accounts
            for folder, narrowed in self._regions(account, rest).items()
        }

    def _accounts(
        self, awslogs: str, rest: list[str], children: list[str] | None
    ) -> tuple[list[str], list[str]]:
        if not rest:
            accounts = []
            for child in self._children(awslogs) if children is None else children:
                name = child[len(awslogs) : -1]
                if _ORG.match(name):
                    accounts += [a for a in self._children(child) if self._is_account(a, child)]
                elif _ACCOUNT.match(name):
                    accounts.append(child)
                else:
                    self._skip(child, "not an account or organization folder of CloudTrail")
            return accounts, []
        first = rest[0]
        if _ORG.match(first):
            org = f"{awslogs}{first}/"
            if len(rest) == 1:
                return [a for a in self._children(org) if self._is_account(a, org)], []
            if not _ACCOUNT.match(rest[1]):
                expected = "an account id (12 digits)"
                raise ListingError(self._not_layout(f"{org}{rest[1]}/", expected))
            return [f"{org}{rest[1]}/"], rest[2:]
        if _ACCOUNT.match(first):
            return [f"{awslogs}{first}/"], rest[1:]
        raise ListingError(
            self._not_layout(f"{awslogs}{first}/", "an account id or an organization id (o-...)")
        )

    def _is_account(self, child: str, parent: str) -> bool:
        if _ACCOUNT.match(child[len(parent) : -1]):
            return True
        self._skip(child, "not an account folder of CloudTrail")
        return False

    def _regions(self, account: str, rest: list[str]) -> dict[str, str]:
        if rest and rest[0] == DIGESTS:
            raise ListingError(
                f"{self._url(account + DIGESTS)}/ holds digest files, which have no events; "
                f"give {self._url(account + SERVICE)}/ instead"
            )
        if rest and rest[0] not in LOG_FOLDERS:
            raise ListingError(self._not_layout(f"{account}{rest[0]}/", f"{SERVICE}/"))
        if len(rest) <= 1:
            services = rest or LOG_FOLDERS
            return {
                folder: folder
                for service in services
                for folder in self._children(f"{account}{service}/")
            }
        folder = f"{account}{rest[0]}/{rest[1]}/"
        dates = rest[2:]
        if len(dates) > 3 or not all(part.isdigit() for part in dates):
            raise ListingError(self._not_layout(folder + "/".join(dates) + "/", "YYYY/MM/DD/"))
        return {folder: folder + "".join(f"{part}/" for part in dates)}

    def _children(self, prefix: str) -> list[str]:
        """The sub-folders of `prefix` (CommonPrefixes), every page."""
        found: list[str] = []
        for page in self._pages(Prefix=prefix, Delimiter="/"):
            found += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return found

    # --- listing the objects -------------------------------------------------------------

    def _days(self, folder: str, narrowed: str) -> Iterator[ListedObject]:
        start = max(filter(None, (self.days.key_start(folder), self.start_after)), default=None)
        for page in self._pages(Prefix=narrowed, StartAfter=start):
            for item in page.get("Contents", []):
                key: str = item["Key"]
                day_path = key[len(folder) : len(folder) + 10]
                if self.days.past(day_path):
                    return  # keys are sorted: the rest are after the range too
                day = _day_of(key[len(folder) :])
                if day is None:
                    self._skip(key, "not in CloudTrail's REGION/YYYY/MM/DD/ layout")
                elif day in self.days:
                    if key.endswith(LOG_SUFFIX):
                        yield ListedObject(key, int(item.get("Size", 0)), day.isoformat())
                    else:
                        self._skip(key, f"not a CloudTrail log file (not {LOG_SUFFIX})")

    def _one_object(self, key: str) -> Iterator[ListedObject]:
        self.folders = [key]
        self.folder = key
        s3 = aws.client("s3", self._s3)
        try:
            head = s3.head_object(Bucket=self.location.bucket, Key=key)
        except Exception as exc:
            raise ListingError(
                explain_error(
                    exc,
                    f"read {self._url(key)}",
                    bucket=self.location.bucket,
                    permission="s3:GetObject",
                    resource=f"arn:aws:s3:::{self.location.bucket}/{key}",
                )
            ) from None
        yield ListedObject(key, int(head.get("ContentLength", 0)), _day_of_file_name(key))

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        s3 = aws.client("s3", self._s3)
        request = {"Bucket": self.location.bucket}
        request.update({k: v for k, v in kwargs.items() if v is not None})
        while True:
            try:
                page: dict[str, Any] = s3.list_objects_v2(**request)
            except Exception as exc:
                prefix = request.get("Prefix", "")
                raise ListingError(
                    explain_error(
                        exc,
                        f"list {self._url(prefix)}",
                        bucket=self.location.bucket,
                        permission="s3:ListBucket",
                        resource=f"arn:aws:s3:::{self.location.bucket} (prefix {prefix!r})",
                    )
                ) from None
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            request["ContinuationToken"] = token

    # --- messages --------------------------------------------------------------------

    def _skip(self, key: str, reason: str) -> None:
        if self._on_skip is not None:
            self._on_skip(self._url(key), reason)

    def _url(self, key: str) -> str:
        return f"{SCHEME}{self.location.bucket}/{key}"

    def _not_layout(self, prefix: str, expected: str) -> str:
        return (
            f"{self._url(prefix)} is not in CloudTrail's layout (expected {expected} there): "
            "CloudTrail writes [PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/"
        )

    def _no_layout_message(self, prefix: str) -> str:
        folders = [c[len(prefix) :] for c in self._children(prefix)[:8]]
        found = f" (folders there: {', '.join(folders)})" if folders else " (nothing there)"
        return (
            f"no {AWSLOGS} folder under {self._url(prefix)}{found}; CloudTrail writes "
            "[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/...: give the trail's bucket and S3 key "
            "prefix (`aws cloudtrail describe-trails` shows both), e.g. "
            f"{self._url(prefix)}PREFIX/"
        )


def _day_of(path: str) -> dt.date | None:
    """The day of a key from its `YYYY/MM/DD/` part (relative to the region folder)."""
    match = _DAY_PATH.match(path)
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


_FILE_DAY = re.compile(r"_(\d{4})(\d{2})(\d{2})T\d{4}Z_")


def _day_of_file_name(key: str) -> str:
    match = _FILE_DAY.search(key.rsplit("/", 1)[-1])
    if match is None:
        return ""
    try:
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return ""
