"""HTTP interfaces. Each capability module lists its blueprint here so the app factory stays small."""
from __future__ import annotations

import importlib

# (module, attribute) of blueprints beyond health and FHIR core, imported when the app is built
EXTRA_BLUEPRINTS: list[tuple[str, str]] = []
EXTRA_BLUEPRINTS.append(("gateway.api.oauth", "bp"))  # OAuth token endpoint, SMART discovery, JWKS
EXTRA_BLUEPRINTS.append(("gateway.api.edfi", "bp"))  # Ed-Fi API SIS vendors push to (/data/v3/ed-fi/...)
EXTRA_BLUEPRINTS.append(("gateway.api.uploads", "bp"))  # file uploads POST /ingest/<format>, job status
EXTRA_BLUEPRINTS.append(("gateway.web", "bp"))  # staff pages: sign-in, caseload, passport, identity review
EXTRA_BLUEPRINTS.append(("gateway.api.hep", "bp"))  # HEP field view GET /hep/v1/youth/<id>
EXTRA_BLUEPRINTS.append(("gateway.web.insights", "bp"))  # county indicators (analysts), feed data quality (operators)


def blueprint_factories():
    out = []
    for mod, attr in EXTRA_BLUEPRINTS:
        m = importlib.import_module(mod)
        bp = getattr(m, attr)
        out.append(lambda bp=bp: bp)
    return out


def engine():
    from flask import current_app
    return current_app.extensions["hep.engine"]


def settings():
    from flask import current_app
    return current_app.extensions["hep.settings"]
