"""The FHIR R4 API under /fhir. Capability modules add routes to this blueprint and declare what
they support in CAPABILITIES, from which /fhir/metadata is built."""
from __future__ import annotations

from flask import Blueprint

fhir = Blueprint("fhir", __name__, url_prefix="/fhir")

# resourceType -> {"interaction": [...], "searchParam": [{"name", "type"}], "operation": [...]}
CAPABILITIES: dict[str, dict] = {}
SYSTEM_OPERATIONS: list[dict] = []

from . import metadata  # noqa: E402,F401  (routes register on import)
from . import patient  # noqa: E402,F401
from . import clinical  # noqa: E402,F401
from . import case  # noqa: E402,F401
from . import accounting  # noqa: E402,F401
from . import bulk  # noqa: E402,F401
from . import subscription  # noqa: E402,F401
