"""The FHIR R4 API under /fhir. Capability modules add routes to this blueprint and declare what
they support in CAPABILITIES, from which /fhir/metadata is built."""
from __future__ import annotations

from flask import Blueprint

fhir = Blueprint("fhir", __name__, url_prefix="/fhir")

# resourceType -> {"interaction": [...], "searchParam": [{"name", "type"}], "operation": [...]}
CAPABILITIES: dict[str, dict] = {}
SYSTEM_OPERATIONS: list[dict] = []

@fhir.before_request
def _bounded_body():
    """FHIR writes carry one resource: refuse a body over the JSON limit before auth or parsing."""
    from flask import abort, request

    from .. import settings
    limit = settings().max_json_bytes
    if request.method in ("POST", "PUT", "PATCH") and (request.content_length or 0) > limit:
        abort(413, description=f"the body is over the {limit:,}-byte limit for a FHIR request")


from . import metadata  # noqa: E402,F401  (routes register on import)
from . import patient  # noqa: E402,F401
from . import clinical  # noqa: E402,F401
from . import case  # noqa: E402,F401
from . import accounting  # noqa: E402,F401
from . import bulk  # noqa: E402,F401
from . import subscription  # noqa: E402,F401
