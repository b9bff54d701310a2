"""Predicates about compute: who changed it (a person or a pipeline), and Lambda layers.

`actor_is_person` separates hands-on changes from automation. The line it draws:

- a person: the root user; an IAM user (long-term keys or console password); an Identity
  Center user; a federated user (GetFederationToken) or SAML user; a role session from AWS
  IAM Identity Center (role name `AWSReservedSSO_*`), or one acting for an Identity Center
  user (`onBehalfOf`); any role session used from the console or CloudShell
  (`sessionCredentialFromConsole`, a browser or console user agent);
- not a person: other role sessions (CI/CD, instance profiles, Lambda execution roles,
  web-identity/OIDC sessions such as GitHub Actions), AWS services and other accounts, and
  any call an AWS service made with the caller's rights (`invokedBy` CloudFormation, Auto
  Scaling...; the console's own `signin.amazonaws.com` still counts as a person).

Tuning. IAM users that are really pipelines (a `ci-deployer` user with access keys) count as
people; suppress them with an allowlist entry in the configuration, which names the rule
and the actor and says why:

    allowlist:
      - reason: the deploy pipeline's IAM user publishes Lambda code
        rules: [threats.lambda_changed_by_person]
        actor_arn: arn:aws:iam::*:user/ci-deployer

Roles that people assume through another identity provider (Okta, Entra ID, a break-glass
role) are not recognised by name. Copy the rule into one of your `rule_folders` under a new
id, give the predicate their role names as globs (`predicate: actor_is_person` with
`args: {person_roles: ["okta-*", "BreakGlass"]}`), and switch the shipped rule off
(`rules: {threats.lambda_changed_by_person: {enabled: false}}`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from trailguard.actor import SSO_ROLE_PREFIX
from trailguard.rules.context import RecordContext
from trailguard.rules.predicates import predicate
from trailguard.rules.predicates.policies import own_account

PERSON_TYPES = frozenset({"Root", "IAMUser", "IdentityCenterUser", "FederatedUser", "SAMLUser"})
"""userIdentity types that are always a person (or a person's long-term credentials)."""
PERSON_ROLE_PATTERNS = (f"{SSO_ROLE_PREFIX}*",)
CONSOLE_INVOKERS = frozenset({"signin.amazonaws.com", "console.amazonaws.com", "AWS Internal"})
"""`invokedBy` values the console itself sets: the person is still the one acting."""
CONSOLE_USER_AGENT_MARKERS = (
    "console.amazonaws.com",
    "console.aws.amazon.com",
    "signin.amazonaws.com",
    "S3Console",
    "AWSConsole",
    "Mozilla/",
    "exec-env/CloudShell",
)
LAYER_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:(\d{12}):layer:")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def from_console(record: Mapping[str, Any]) -> bool:
    """The call came from the AWS console or CloudShell (so a person made it)."""
    if record.get("sessionCredentialFromConsole") in (True, "true"):
        return True
    agent = _text(record.get("userAgent"))
    return any(marker in agent for marker in CONSOLE_USER_AGENT_MARKERS)


def role_name(identity: Mapping[str, Any]) -> str:
    """The role behind an assumed-role session: the issuer's name, or from the ARNs."""
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    issuer = issuer if isinstance(issuer, dict) else {}
    name = _text(issuer.get("userName"))
    if name:
        return name
    issuer_arn = _text(issuer.get("arn"))
    if ":role/" in issuer_arn:
        return issuer_arn.rsplit("/", 1)[-1]
    arn = _text(identity.get("arn"))
    if ":assumed-role/" in arn:
        return arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
    return ""


@predicate("actor_is_person", person_roles=list)
def actor_is_person(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The actor is a person (root, IAM user, SSO or console session), not a pipeline or service.

    `person_roles`: more role-name globs whose sessions are people (besides
    `AWSReservedSSO_*`). How the line is drawn and how to tune it: module docstring.
    """
    record = ctx.record
    identity = record.get("userIdentity")
    if not isinstance(identity, dict):
        return False
    invoked_by = _text(identity.get("invokedBy"))
    if invoked_by and invoked_by not in CONSOLE_INVOKERS:
        return False  # an AWS service acted with the caller's rights (CloudFormation...)
    kind = _text(identity.get("type"))
    if kind in PERSON_TYPES:
        return True
    if kind != "AssumedRole":
        return False  # AWSService, AWSAccount, WebIdentityUser, Unknown, missing
    if from_console(record):
        return True
    on_behalf_of = identity.get("onBehalfOf")
    if isinstance(on_behalf_of, dict) and _text(on_behalf_of.get("userId")):
        return True
    name = role_name(identity)
    patterns = [*PERSON_ROLE_PATTERNS, *(str(p) for p in args.get("person_roles") or [])]
    return bool(name) and any(fnmatchcase(name, pattern) for pattern in patterns)


def _layer_arns(values: list[Any]) -> Iterator[str]:
    """Layer ARNs from a request (`layers: [arn]`) or a response (`layers: [{arn: ...}]`)."""
    for value in values:
        if isinstance(value, dict):
            value = value.get("arn")
        if isinstance(value, str):
            yield value


@predicate("layer_outside_account", path=str)
def layer_outside_account(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """A Lambda layer at `path` (default `requestParameters.layers`) belongs to another account.

    Layers published by AWS and by vendors (monitoring extensions) are other accounts too;
    the rule using this says so.
    """
    own = own_account(ctx)
    if own is None:
        return False
    path = str(args.get("path") or "requestParameters.layers")
    for arn in _layer_arns(ctx.values(tuple(path.split(".")))):
        match = LAYER_ARN.match(arn)
        if match and match.group(1) != own:
            return True
    return False
