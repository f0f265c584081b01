"""`hep policy decide|lint|table` as a user runs them, and docs/policy.md kept in step with the rules."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.policy import DEFAULT_RULES_DIR, default_policy
from gateway.policy.lint import lint
from gateway.policy.table import generated_part, render
from tests.policy_support import examples_path, request

ROOT = Path(__file__).resolve().parent.parent
HEP = Path(sys.executable).parent / "hep"


def run(*args, stdin: bytes | None = None):
    return subprocess.run([str(HEP), "policy", *args], input=stdin, capture_output=True, cwd=ROOT, timeout=60)


def test_decide_examples_from_stdin():
    examples = json.loads(examples_path().read_text())
    p = run("decide", "-", stdin=json.dumps(examples).encode())
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [d["id"] for d in out] == [e["id"] for e in examples]
    assert [d["decision"] for d in out] == [e["expected"] for e in examples]


def test_decide_single_object_file(tmp_path):
    f = tmp_path / "one.json"
    f.write_text(json.dumps(request(rid="ONE")))
    p = run("decide", str(f))
    assert p.returncode == 0
    out = json.loads(p.stdout)
    assert isinstance(out, list) and out[0]["id"] == "ONE" and out[0]["decision"] == "permit"


def test_decide_exit_2_when_any_request_is_not_understood():
    bad = request(rid="BAD")
    bad["requester"]["role"] = "janitor"
    p = run("decide", "-", stdin=json.dumps([request(rid="OK"), bad]).encode())
    assert p.returncode == 2
    out = json.loads(p.stdout)
    assert out[0]["decision"] == "permit"
    assert out[1]["decision"] == "error" and "requester.role" in out[1]["reason"]


def test_decide_refuses_non_json():
    p = run("decide", "-", stdin=b"{not json")
    assert p.returncode == 2 and b"not JSON" in p.stderr


def test_lint_passes_on_shipped_rules():
    p = run("lint")
    assert p.returncode == 0, p.stdout.decode()
    assert lint() == []


@pytest.fixture
def broken_rules(tmp_path):
    d = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, d)
    (d / "99_broken.yaml").write_text("""
rules:
  - id: broken.ages
    citation: "nowhere"
    description: A rule whose ages cannot both hold.
    roles: [caregiver]
    categories: [attendance]
    age: {min: 18, max: 12}
    effect: permit
    obligations: [log_disclosure]
  - id: broken.unknown_role
    citation: "x"
    description: Names a role that does not exist.
    roles: [janitor]
    categories: [attendance]
    effect: permit
    obligations: [log_disclosure]
  - id: broken.no_citation
    description: Has no citation.
    roles: [school]
    categories: [hiv]
    effect: deny
  - id: broken.purpose
    citation: "x"
    description: A purpose schools never state.
    roles: [school]
    categories: [attendance]
    purposes: [HLEGAL]
    effect: permit
    obligations: [log_disclosure]
  - id: broken.overlap
    citation: "x"
    description: Contradicts the social worker education rule.
    roles: [county_social_worker]
    categories: [attendance]
    purposes: [x-EDU-SUPPORT]
    age: {max: 17}
    effect: permit-redacted
    redactions: [small_cells]
    obligations: [log_disclosure]
  - id: broken.unknown_obligation
    citation: "x"
    description: Unknown obligation.
    roles: [school]
    categories: [attendance]
    purposes: [x-EDU-SUPPORT]
    effect: permit
    obligations: [log_disclosure, sing_a_song]
""")
    return d


def test_lint_catches_broken_rule_set(broken_rules):
    findings = "\n".join(lint(broken_rules))
    assert "broken.ages" in findings and "can never fire" in findings
    assert "janitor" in findings
    assert "broken.no_citation" in findings and "missing citation" in findings
    assert "broken.purpose" in findings and "HLEGAL" in findings
    assert "broken.overlap" in findings and "edu.caseworker.usa" in findings
    assert "sing_a_song" in findings
    p = run("lint", str(broken_rules))
    assert p.returncode == 1
    assert b"broken.overlap" in p.stdout


def test_lint_reports_missing_relationship_gate(tmp_path):
    d = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, d)
    (d / "00_relationship.yaml").write_text("rules: []\n")
    assert any("no gate rule" in f for f in lint(d))


def test_decide_with_rules_directory(broken_rules, tmp_path):
    # An unloadable rule set is refused outright, never half-used.
    p = run("decide", "--rules", str(broken_rules), "-", stdin=json.dumps(request()).encode())
    assert p.returncode == 1 and b"cannot load rules" in p.stderr


def test_docs_policy_md_is_up_to_date():
    doc = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    assert "How to change a rule safely" in doc
    assert generated_part(doc) == render(default_policy()), \
        "docs/policy.md is stale: run `hep policy table --write docs/policy.md`"


def test_table_names_every_rule():
    p = run("table")
    assert p.returncode == 0
    text = p.stdout.decode()
    for rule in default_policy().rules:
        assert f"`{rule.id}`" in text
