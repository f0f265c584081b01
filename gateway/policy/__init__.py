"""Disclosure policy: may the gateway release data category X about this youth to requester Y?

`decide(request) -> decision` is pure: the request object of ../shared/policy/README.md in, a
decision naming its rules and citations out. The law lives in data (`profiles/disclosure/*.yaml`),
compiled once per process into an index; this package imports neither Flask nor the database.
"""
from __future__ import annotations

from functools import lru_cache

from .engine import Policy, load_policy
from .request import RequestError
from .vocabulary import DEFAULT_RULES_DIR, PolicyDataError

__all__ = ["Policy", "load_policy", "default_policy", "decide", "RequestError", "PolicyDataError",
           "DEFAULT_RULES_DIR"]


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The shipped rule set, loaded once per process."""
    return load_policy()


def decide(request: dict) -> dict:
    return default_policy().decide(request)
