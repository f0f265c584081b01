"""Enforcement: the store's facts about a youth + who asks -> one policy decision per category.

The relationship (caseload, attorney of record, treating provider…) is read from the store,
never taken from the token; the same `decide()` that `hep policy decide` runs makes every call.
"""
from .decisions import (ALL_CATEGORIES, Disclosure, decide_categories, load_youth_facts,  # noqa: F401
                        permitted)
