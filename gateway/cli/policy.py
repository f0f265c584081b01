"""`hep policy decide|lint|table`: the disclosure decision from the command line (no database).

decide: the contract of ../shared/policy/README.md — one request or an array, "-" for stdin;
prints a JSON array of decisions; exit 0, or 2 when any request was not understood.
lint:   findings on a rule set (exit 1 when there are any).
table:  the rule set as Markdown; --write FILE replaces the generated part of FILE.
"""
from __future__ import annotations

import sys
from pathlib import Path

import orjson


def register(sub) -> None:
    p = sub.add_parser("policy", help="disclosure policy: decide requests, lint and print the rules")
    ps = p.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    d = ps.add_parser("decide", help="decide one request or a JSON array of requests")
    d.add_argument("file", help="JSON file with a request object or an array of them; '-' = stdin")
    d.add_argument("--rules", metavar="DIR", help="rules directory (default: profiles/disclosure)")
    d.set_defaults(func=run_decide)

    lt = ps.add_parser("lint", help="check the rule set; exit 1 on findings")
    lt.add_argument("rules_dir", nargs="?", help="rules directory (default: profiles/disclosure)")
    lt.set_defaults(func=run_lint)

    t = ps.add_parser("table", help="print the rule set as Markdown tables")
    t.add_argument("--rules", metavar="DIR", help="rules directory (default: profiles/disclosure)")
    t.add_argument("--write", metavar="FILE", help="replace the generated section of FILE (e.g. docs/policy.md)")
    t.set_defaults(func=run_table)


def _policy(rules_dir):
    from gateway.policy import PolicyDataError, default_policy, load_policy

    from . import CliError
    try:
        return load_policy(rules_dir) if rules_dir else default_policy()
    except PolicyDataError as e:
        raise CliError(f"cannot load rules: {e}", status=1)


def run_decide(args) -> int:
    from . import CliError
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as e:
        raise CliError(f"cannot read {args.file}: {e}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise CliError(f"{args.file}: not JSON: {e}")
    policy = _policy(args.rules)
    requests = data if isinstance(data, list) else [data]
    decisions = [policy.decide(r) for r in requests]
    sys.stdout.buffer.write(orjson.dumps(decisions, option=orjson.OPT_INDENT_2) + b"\n")
    return 2 if any(d["decision"] == "error" for d in decisions) else 0


def run_lint(args) -> int:
    from gateway.policy.lint import lint
    findings = lint(args.rules_dir)
    for f in findings:
        print(f)
    if findings:
        print(f"{len(findings)} finding(s)", file=sys.stderr)
        return 1
    print("rules OK", file=sys.stderr)
    return 0


def run_table(args) -> int:
    from gateway.policy.table import render, replace_generated
    table = render(_policy(args.rules))
    if args.write:
        path = Path(args.write)
        document = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(replace_generated(document, table), encoding="utf-8")
    else:
        sys.stdout.write(table)
    return 0
