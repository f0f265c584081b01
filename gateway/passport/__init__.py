"""The Health and Education Passport (WIC 16010): assembly, derived facts, FHIR and Ed-Fi renderings.

  assemble(conn, tenant, youth_id, decisions, *, as_of, base_url) -> FHIR document Bundle (dict)
  assemble_edfi(conn, tenant, youth_id, decisions, *, as_of)       -> Ed-Fi JSON for education partners
  derived_facts(conn, tenant, youth_id, *, as_of)                  -> facts, each tagged with its categories
Only permitted categories are read from the store. docs/passport.md describes the passport.
"""
from .document import assemble, notices, notices_of  # noqa: F401
from .edfi import assemble_edfi  # noqa: F401
from .facts import derived_facts  # noqa: F401
