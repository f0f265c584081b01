"""Lines `hep demo` prints for each capability that has something to try (grows with capabilities)."""
from __future__ import annotations

HINTS: list = []  # callables base_url -> list[str]


def hints(base: str) -> list[str]:
    out = []
    for h in HINTS:
        out.extend(h(base))
    return out


def _web_signin(base: str) -> list[str]:
    from .web.demo import signin_hints
    return signin_hints(base)


HINTS.append(_web_signin)  # staff sign-in: demo accounts (gateway/web/demo.py)
