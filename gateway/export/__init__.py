"""FHIR Bulk Data export (HL7 Bulk Data Access IG, `$export`) and the flat HEP record.

The API (gateway/api/fhir/bulk.py) validates a kick-off and enqueues an `export` job; the worker
(`hep worker`, HANDLERS["export"] = "gateway.export.job:run") writes NDJSON files under
`$HEP_VAR_DIR/exports/<job>/`, deciding per youth and per category exactly as a single read does.

Modules:
  params     requester (de)serialisation, supported types, kick-off parameters
  groups     Groups (one per DCFS regional office, one per social worker caseload) and membership
  render     one youth's exportable resources (stored FHIR, passport renderings, Patient)
  hep_record the flat WIC 16010 record (GET /hep/v1/youth/<id>, `_type=HepRecord`)
  job        the worker handler: chunks of youth, files, progress, resume, audit
docs/bulk-export.md describes the whole.
"""
from .params import (OUTPUT_FORMATS, SUPPORTED_TYPES, export_dir, requester_from_params,  # noqa: F401
                     requester_to_params)
