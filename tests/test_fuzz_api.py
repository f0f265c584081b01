"""schemathesis against the gateway's own FHIR API (docs/openapi-fhir.yaml), in-process over WSGI,
with a real token (an attorney of record, so generated requests reach real data), checking: no 5xx,
documented status codes and content types, and bodies that conform to the schema.

Quick in CI (HEP_FUZZ_API_EXAMPLES, default 8 per operation); `make fuzz` runs more. Path ids are
seeded with the youth's real id and real resource ids (as explicit examples), besides generated ones.
Known 5xx found by this and by tests/test_security_inputs.py are strict xfails there.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from tests.test_security_support import secure_env, world  # noqa: F401

schemathesis = pytest.importorskip("schemathesis")
SPEC = yaml.safe_load((Path(__file__).resolve().parent.parent / "docs" / "openapi-fhir.yaml").read_text())
EXAMPLES = int(os.environ.get("HEP_FUZZ_API_EXAMPLES", "8"))
OPERATIONS = sorted((path, method) for path, item in SPEC["paths"].items() for method in item)


def _checks():
    from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                     status_code_conformance)
    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _seed(spec: dict, w) -> dict:
    """Real ids as examples of the path and patient parameters."""
    ids = {t: i for std, t, i in w.resource_ids(w.yid) if std == "fhir"}
    for path, item in spec["paths"].items():
        for op in item.values():
            for prm in op.get("parameters", []):
                if prm["name"] == "patient":
                    prm["example"] = w.yid
                elif prm["in"] == "path":
                    rtype = path.split("/")[2]
                    prm["example"] = w.yid if rtype == "Patient" else ids.get(rtype, "unknown")
    return spec


def test_the_spec_lists_every_fhir_read_and_search_route(secure_env):
    served = {r.rule.replace("<youth_id>", "{id}").replace("<rid>", "{id}").replace("<group_id>", "{id}")
              for r in secure_env.app.url_map.iter_rules() if r.rule.startswith("/fhir/") and "GET" in r.methods
              and "$export" not in r.rule and "Subscription" not in r.rule and "_probe" not in r.rule}
    assert served == set(SPEC["paths"]), sorted(served ^ set(SPEC["paths"]))


@pytest.mark.parametrize("path,method", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_fhir_api_fuzz(path, method, secure_env):
    import copy
    w = secure_env
    schema = schemathesis.openapi.from_dict(_seed(copy.deepcopy(SPEC), w))
    schema.app = w.app
    op = schema[path][method.upper()]
    token = w.lawyer().token
    headers = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def run(case):
        case.call_and_validate(headers=headers, checks=_checks())

    run()
