"""Column layout of the child-welfare case extract (docs/formats/cws-extract.md), version 1.0.

Kept as data beside the adapter so writer, adapter and documentation agree on one definition.
"""
TABLES: dict[str, list[str]] = {
    "manifest": ["extract_id", "county_code", "extract_date", "layout_version", "source_system"],
    "clients": ["client_id", "case_id", "first_name", "middle_name", "last_name", "name_suffix", "birth_date",
                "sex", "ssid", "primary_language", "race", "hispanic", "jurisdiction", "office",
                "removal_date", "episode_status"],
    "aliases": ["client_id", "alias_first_name", "alias_middle_name", "alias_last_name", "alias_type"],
    "placements": ["placement_id", "client_id", "start_date", "end_date", "placement_type", "caregiver_id",
                   "caregiver_name", "address_line", "city", "state", "zip", "phone"],
    "assignments": ["assignment_id", "client_id", "role", "person_id", "name", "organization", "phone", "email",
                    "start_date", "end_date", "jv535_signed_date", "erh_relationship"],
    "court_orders": ["order_id", "client_id", "order_type", "status", "issued_date", "expires_date", "scope",
                     "recipients", "limits_parent_ed_rights", "vacates_order_id", "form"],
    "consents": ["consent_id", "client_id", "grantor", "scope", "recipients", "status", "form", "signed_date",
                 "expires_date", "expiration_event", "revoked_date", "part2_compliant", "single_disclosure",
                 "purpose"],
}
REQUIRED = {
    "clients": ["client_id", "case_id", "first_name", "last_name", "birth_date", "sex", "jurisdiction"],
    "aliases": ["client_id", "alias_last_name"],
    "placements": ["placement_id", "client_id", "start_date", "placement_type"],
    "assignments": ["assignment_id", "client_id", "role", "person_id", "name", "start_date"],
    "court_orders": ["order_id", "client_id", "order_type", "status", "issued_date"],
    "consents": ["consent_id", "client_id", "grantor", "scope", "recipients", "status", "form", "signed_date"],
}
JURISDICTION_CODES = {
    "300": "dependent_300",
    "602-FC": "ward_602_foster_placement",
    "602-HOME": "ward_602_home",
    "NMD": "nonminor_dependent",
}
ROLE_CODES = {  # extract code -> gateway assignment role (the policy's requester roles)
    "SW": "social_worker",
    "PO": "probation_officer",
    "ATTY": "attorney",
    "CASA": "casa",
    "CG": "caregiver",
    "ERH": "education_rights_holder",
}
PLACEMENT_TYPES = {
    "RFH": "Resource family home", "KIN": "Relative / NREFM home", "FFA": "Foster family agency certified home",
    "STRTP": "Short-term residential therapeutic program", "GH": "Group home (legacy)",
    "SILP": "Supervised independent living placement", "THP-NMD": "Transitional housing placement, nonminor dependent",
    "FFH": "Licensed foster family home", "GUARD": "Legal guardian home", "HOME": "Home of parent",
}
ORDER_TYPES = ("jv535_erh_appointment", "jv535_restores_parent_ed_rights", "casa_appointment",
               "part2_2.64_order", "wic827_release_order")
ORDER_STATUSES = ("active", "vacated", "expired")
CONSENT_GRANTORS = ("youth", "parent", "erh", "court")
CONSENT_STATUSES = ("active", "revoked", "expired")
CONSENT_FORMS = ("ferpa_99.30", "cmia_56.11", "part2_2.31", "part2_2.31_tpo", "hiv_120980g", "general_written")
CONSENT_RECIPIENTS = ("county_social_worker", "probation_officer", "youth_attorney", "casa", "caregiver",
                      "education_rights_holder", "youth", "treating_provider", "mental_health_provider", "school",
                      "state_cms", "researcher", "reengagement_counselor")
