"""`trailguard rules list | show ID | test [PATH] | validate [PATH]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson
import yaml

from trailguard.commands.setup import Setup, load_setup
from trailguard.rules.loader import load_rules
from trailguard.rules.rule import Rule
from trailguard.rules.testing import run_tests

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERRORS = 2
CATALOG_DESCRIPTIONS = {
    "catalog.deletion": ("high", "A Delete*, Revoke* or Remove* call (the seed's deletion rule)"),
    "catalog.unlisted_service": ("info", "A call to a service outside the seed's catalogue"),
    "catalog.change": ("per event", "A catalogued event, at the catalogue's severity"),
}


def _events(rule: Rule) -> str:
    sources = sorted(s.removesuffix(".amazonaws.com") for s in rule.event_sources or ())
    names = sorted(rule.event_names or ())
    shown = ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
    if sources and names:
        return f"{'/'.join(sources)}: {shown}"
    return "/".join(sources) or shown or "(any event)"


def rows(setup: Setup) -> list[dict[str, object]]:
    """One row per rule: catalogue rules first, then detection rules in load order."""
    out: list[dict[str, object]] = []
    for rule_id in setup.loaded.catalog_rule_ids:
        severity, title = CATALOG_DESCRIPTIONS[rule_id]
        override = setup.config.overrides.get(rule_id)
        out.append(
            {
                "id": rule_id,
                "severity": override.severity.label if override and override.severity else severity,
                "enabled": not (override and override.enabled is False),
                "title": title,
                "events": "(every record)",
                "references": [],
                "threshold": None,
            }
        )
    for rule in setup.loaded.rules.values():
        override = setup.config.overrides.get(rule.rule_id)
        severity = rule.severity.label
        if override and override.severity:
            severity = override.severity.label
        elif rule.severity_when:
            severity += "+"
        out.append(
            {
                "id": rule.rule_id,
                "severity": severity,
                "enabled": rule.enabled,
                "title": rule.title,
                "events": _events(rule),
                "references": list(rule.reference_labels),
                "threshold": (
                    f"{rule.threshold.count} in {rule.threshold.window_seconds}s"
                    if rule.threshold
                    else None
                ),
            }
        )
    return out


def markdown_table(table: list[dict[str, object]]) -> str:
    lines = ["| rule | severity | what it detects | references |", "|---|---|---|---|"]
    for row in table:
        refs = "<br>".join(str(r) for r in row["references"]) or "-"  # type: ignore[attr-defined]
        title = str(row["title"]).replace("|", "\\|")
        lines.append(f"| `{row['id']}` | {row['severity']} | {title} | {refs} |")
    return "\n".join(lines) + "\n"


def cmd_list(args: argparse.Namespace) -> int:
    table = rows(load_setup(args.config, args.rules))
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(table, option=orjson.OPT_INDENT_2) + b"\n")
    elif args.format == "markdown":
        sys.stdout.write(markdown_table(table))
    else:
        for row in table:
            mark = "" if row["enabled"] else "  (disabled)"
            sys.stdout.write(f"{row['id']:<48} {row['severity']:<9} {row['events']}{mark}\n")
        sys.stdout.write(f"\n{len(table)} rules\n")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    setup = load_setup(args.config, args.rules)
    rule = setup.loaded.rules.get(args.rule_id)
    if rule is None:
        if args.rule_id in CATALOG_DESCRIPTIONS:
            severity, title = CATALOG_DESCRIPTIONS[args.rule_id]
            sys.stdout.write(f"{args.rule_id} ({severity}): {title}. See docs/catalogue.md.\n")
            return EXIT_OK
        sys.stderr.write(
            f"trailguard: error: no rule {args.rule_id!r}; `trailguard rules list` shows them\n"
        )
        return EXIT_ERRORS
    spec = dict(rule.spec)
    spec["tests"] = [f"{t.name} ({'match' if t.expect_match else 'no_match'})" for t in rule.tests]
    sys.stdout.write(f"# {rule.source}\n")
    sys.stdout.write(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=96))
    return EXIT_OK


def _rules_to_test(args: argparse.Namespace) -> list[Rule]:
    if args.paths:
        rules: list[Rule] = []
        unique: dict[Path, Path] = {}  # each path once, as written
        for text in args.paths:
            unique.setdefault(Path(text).resolve(), Path(text))
        for path in unique.values():
            rules += load_rules(path, first_ordinal=len(rules))
        return rules
    return list(load_setup(args.config, args.rules).loaded.rules.values())


def cmd_test(args: argparse.Namespace) -> int:
    from trailguard.rules.errors import RuleLoadError

    try:
        rules = _rules_to_test(args)
    except RuleLoadError as exc:
        sys.stderr.write(f"trailguard: error: {exc}\n")
        return EXIT_ERRORS
    outcomes = run_tests(rules)
    failed = [o for o in outcomes if not o.passed]
    for outcome in outcomes:
        if not outcome.passed:
            sys.stdout.write(f"FAIL {outcome.rule_id}: {outcome.test_name}: {outcome.problem}\n")
            sys.stdout.write(f"     in {outcome.source}\n")
        elif args.verbose:
            sys.stdout.write(f"ok   {outcome.rule_id}: {outcome.test_name}\n")
    sys.stdout.write(
        f"{len(outcomes) - len(failed)} passed, {len(failed)} failed, in {len(rules)} rules\n"
    )
    return EXIT_FAILED if failed else EXIT_OK


def _check_unique_ids(rules: list[Rule], setup: Setup) -> None:
    """Ids are unique across every pack: the rules in PATH must not reuse each other's ids,
    nor those of the catalogue or of the rules the configuration loads (a scan would refuse
    them). A rule loaded from the same file on both sides is the same rule."""
    from trailguard.rules.errors import RuleLoadError
    from trailguard.rules.packs import CATALOG_RULES

    seen: dict[str, str] = dict.fromkeys(CATALOG_RULES, "the catalogue")
    seen.update({rule.rule_id: rule.source for rule in setup.loaded.rules.values()})
    from_paths: set[str] = set()
    for rule in rules:
        other = seen.get(rule.rule_id)
        same_file = other is not None and Path(other).resolve() == Path(rule.source).resolve()
        if other is not None and (rule.rule_id in from_paths or not same_file):
            raise RuleLoadError(rule.source, "id", f"duplicate id; also in {other}", rule.rule_id)
        seen[rule.rule_id] = rule.source
        from_paths.add(rule.rule_id)


def cmd_validate(args: argparse.Namespace) -> int:
    from trailguard.rules.errors import RuleLoadError

    try:
        rules = _rules_to_test(args)
        if args.paths:
            _check_unique_ids(rules, load_setup(args.config, args.rules))
    except RuleLoadError as exc:
        sys.stderr.write(f"trailguard: error: {exc}\n")
        return EXIT_ERRORS
    sys.stdout.write(f"{len(rules)} rules loaded without errors\n")
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = commands.add_parser("rules", help="list, show, test and validate rules")
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every rule with its severity and references")
    listing.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    listing.set_defaults(handler=cmd_list)
    show = actions.add_parser("show", help="one rule as written, with its tests")
    show.add_argument("rule_id", metavar="ID")
    show.set_defaults(handler=cmd_show)
    test = actions.add_parser("test", help="run the rules' inline tests (exit 1 on a failure)")
    test.add_argument("paths", nargs="*", metavar="PATH", help="rule files or folders")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    test.set_defaults(handler=cmd_test)
    validate = actions.add_parser("validate", help="load rules and report the first error")
    validate.add_argument("paths", nargs="*", metavar="PATH", help="rule files or folders")
    validate.set_defaults(handler=cmd_validate)
    for sub in (listing, show, test, validate):
        add_common(sub)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="configuration file (YAML)")
    parser.add_argument(
        "--rules",
        action="append",
        metavar="DIR",
        help="an extra folder of rules (may be repeated)",
    )
