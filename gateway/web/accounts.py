"""Local staff accounts: scrypt password hashes, lockout after repeated failures.

Passwords are hashed with hashlib.scrypt (RFC 7914; standard library, no new dependency) with a
per-user 16-byte salt: n=2**14, r=8, p=1 (16 MiB, ~40 ms a guess). Stored as
`scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>` so parameters can be raised later; `verify` reads them
from the hash. After MAX_FAILED consecutive failures an account is locked for LOCK_MINUTES.
docs/web.md explains how county SSO replaces this module without touching the pages.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, select, update

from ..clock import utcnow
from ..store import schema as s
from ..store.engine import write_tx

ROLES = ("social_worker", "supervisor", "analyst", "operator")
MAX_FAILED = 5
LOCK_MINUTES = 15
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
_DUMMY = None


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class StaffUser:
    id: int
    tenant: str
    username: str
    display_name: str
    role: str
    cws_person_id: str | None
    sessions_valid_after: datetime | None


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 * 1024 * 1024)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(dk)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, dk = stored.split("$")
        if algo != "scrypt":
            return False
        want = base64.b64decode(dk)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def generate_password() -> str:
    """A random password to hand out once (about 100 bits, no look-alike characters)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def _aware(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts


def _user(row) -> StaffUser:
    return StaffUser(row.id, row.tenant_id, row.username, row.display_name, row.role, row.cws_person_id,
                     _aware(row.sessions_valid_after))


def add_user(engine, tenant: str, username: str, role: str, *, display_name: str | None = None,
             person_id: str | None = None, password: str | None = None) -> tuple[StaffUser, str]:
    """Create an account; returns it and its password (generated unless given)."""
    username = (username or "").strip().lower()
    if not username or len(username) > 80 or not all(c.isalnum() or c in "._-@" for c in username):
        raise AccountError("username: 1-80 letters, digits or . _ - @")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if role == "social_worker" and not person_id:
        raise AccountError("a social worker needs --person (their CWS person id, e.g. SW00001)")
    password = password or generate_password()
    if len(password) < 12:
        raise AccountError("password: at least 12 characters")
    u = s.staff_user.c
    with write_tx(engine) as conn:
        if conn.execute(select(u.id).where(and_(u.tenant_id == tenant, u.username == username))).first():
            raise AccountError(f"user {username} already exists")
        conn.execute(s.staff_user.insert().values(
            tenant_id=tenant, username=username, display_name=display_name or username, role=role,
            password_hash=hash_password(password), cws_person_id=person_id, failed_attempts=0, active=True,
            created_at=utcnow()))
    return get_user(engine, tenant, username), password


def get_user(engine_or_conn, tenant: str, username: str) -> StaffUser | None:
    u = s.staff_user.c
    q = select(s.staff_user).where(and_(u.tenant_id == tenant, u.username == username, u.active.is_(True)))
    if hasattr(engine_or_conn, "connect"):
        with engine_or_conn.connect() as conn:
            row = conn.execute(q).first()
    else:
        row = engine_or_conn.execute(q).first()
    return _user(row) if row else None


def list_users(engine, tenant: str) -> list[dict]:
    u = s.staff_user.c
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(u.username, u.display_name, u.role, u.cws_person_id, u.locked_until, u.active)
            .where(u.tenant_id == tenant).order_by(u.username))]


def authenticate(engine, tenant: str, username: str, password: str, *, now: datetime | None = None
                 ) -> tuple[StaffUser | None, str]:
    """(user, "ok") on success; (None, "bad" | "locked") otherwise. Failures count towards the lock;
    a locked account is refused without looking at the password."""
    global _DUMMY
    now = now or utcnow()
    username = (username or "").strip().lower()[:80]
    u = s.staff_user.c
    with write_tx(engine) as conn:
        row = conn.execute(select(s.staff_user).where(and_(u.tenant_id == tenant, u.username == username,
                                                           u.active.is_(True)))).first()
        if row is None:
            _DUMMY = _DUMMY or hash_password("not-a-password-at-all")
            verify_password(password, _DUMMY)     # same work as a real check: no timing oracle for usernames
            return None, "bad"
        locked = _aware(row.locked_until)
        if locked is not None and locked > now:
            return None, "locked"
        if verify_password(password or "", row.password_hash):
            conn.execute(update(s.staff_user).where(u.id == row.id).values(failed_attempts=0, locked_until=None))
            return _user(row), "ok"
        failed = (row.failed_attempts or 0) + 1
        if locked is not None:            # an expired lock: this is the first failure of a new round
            failed = 1
        values = {"failed_attempts": failed}
        if failed >= MAX_FAILED:
            values.update(locked_until=now + timedelta(minutes=LOCK_MINUTES), failed_attempts=0)
        else:
            values["locked_until"] = None
        conn.execute(update(s.staff_user).where(u.id == row.id).values(**values))
        return None, "locked" if failed >= MAX_FAILED else "bad"


def end_sessions(engine, tenant: str, username: str, *, now: datetime | None = None) -> None:
    """Every session of this user issued before now stops working (sign-out, password change)."""
    u = s.staff_user.c
    with write_tx(engine) as conn:
        conn.execute(update(s.staff_user).where(and_(u.tenant_id == tenant, u.username == username))
                     .values(sessions_valid_after=now or utcnow()))


def set_password(engine, tenant: str, username: str, password: str | None = None) -> str:
    password = password or generate_password()
    u = s.staff_user.c
    with write_tx(engine) as conn:
        n = conn.execute(update(s.staff_user).where(and_(u.tenant_id == tenant, u.username == username)).values(
            password_hash=hash_password(password), failed_attempts=0, locked_until=None,
            sessions_valid_after=utcnow())).rowcount
    if not n:
        raise AccountError(f"no user {username}")
    return password
