"""Purpose of use: the codes and their systems come from profiles/disclosure/vocabulary.yaml."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _vocab():
    from ..policy.vocabulary import load_vocabulary
    return load_vocabulary()


def purpose_system(code: str) -> str | None:
    """"v3-ActReason" | "local", or None for a code the vocabulary does not know."""
    if not isinstance(code, str):
        return None
    return _vocab().purposes.get(code)


def role_purposes(role: str) -> frozenset[str] | None:
    spec = _vocab().roles.get(role)
    return None if spec is None else frozenset(spec.purposes)


def roles() -> list[str]:
    return sorted(_vocab().roles)
