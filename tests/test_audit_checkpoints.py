"""Signed checkpoints: ES384 JWS over (tenant, seq, hash); forged or foreign signatures, a chain
rewritten consistently behind a checkpoint, and a checkpoint past a truncated tail all fail
verification; key rotation keeps old checkpoints verifiable."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import select, text

from gateway.audit import (append, checkpoint, maybe_checkpoint, rotate_key, row_hash, trusted_keys,
                           verify)
from gateway.crypto import signing
from gateway.store import schema as s
from gateway.store import write_tx

T = "la"


def fill(engine, n: int, tenant: str = T) -> list[int]:
    seqs = []
    with write_tx(engine) as conn:
        for i in range(n):
            seqs.append(append(conn, tenant, actor_id="u", actor_role="county_social_worker", client_id="c",
                               youth_id=f"y{i % 5}", action="read", purpose="COC", outcome="permit",
                               entry={"i": i, "released": ["immunizations"]}))
    return seqs


def cps(engine):
    with engine.connect() as conn:
        return conn.execute(select(s.audit_checkpoint).order_by(s.audit_checkpoint.c.seq)).all()


def _b64d(t):
    return base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))


def _b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def test_checkpoint_signs_the_head_with_the_audit_key(engine):
    assert checkpoint(engine, T) is None  # nothing to sign yet
    seqs = fill(engine, 40)
    cp = checkpoint(engine, T)
    assert cp.seq == seqs[-1] and cp.tenant_id == T
    jwk = signing.public_jwk("audit-signing")
    assert cp.key_id == jwk["kid"]
    h64, p64, s64 = cp.signature.split(".")
    header, payload = json.loads(_b64d(h64)), json.loads(_b64d(p64))
    assert header == {"alg": "ES384", "kid": jwk["kid"], "typ": "hep-audit-checkpoint"}
    assert payload["seq"] == cp.seq and payload["hash"] == cp.hash and payload["tenant"] == T
    # an independent ES384 check with the published JWK
    sig = _b64d(s64)
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(_b64d(jwk["x"]), "big"), int.from_bytes(_b64d(jwk["y"]), "big"),
                                        ec.SECP384R1()).public_key()
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    pub.verify(encode_dss_signature(int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big")),
               f"{h64}.{p64}".encode(), ec.ECDSA(hashes.SHA384()))
    assert checkpoint(engine, T).seq == cp.seq and len(cps(engine)) == 1  # head unchanged: same checkpoint
    fill(engine, 5)
    checkpoint(engine, T)
    res = verify(engine, T)
    assert res.ok and res.checkpoints == 2 and res.checked == 45, res.problem


def test_maybe_checkpoint_every_n(engine):
    fill(engine, 9)
    assert maybe_checkpoint(engine, T, every=10) is None
    fill(engine, 1)
    cp = maybe_checkpoint(engine, T, every=10)
    assert cp is not None and cp.seq == 10
    assert maybe_checkpoint(engine, T, every=10) is None  # nothing new since
    fill(engine, 3)
    assert maybe_checkpoint(engine, T, every=10) is None
    assert maybe_checkpoint(engine, T, every=10, max_age=timedelta(0)) is not None  # old enough
    assert len(cps(engine)) == 2 and verify(engine, T).checkpoints == 2


@pytest.fixture
def signed(engine):
    seqs = fill(engine, 60)
    checkpoint(engine, T)
    seqs += fill(engine, 20)
    checkpoint(engine, T)
    res = verify(engine, T)
    assert res.ok and res.checkpoints == 2
    return engine, seqs


def test_forged_checkpoint_signature(signed):
    engine, seqs = signed
    cp = cps(engine)[0]
    h64, p64, s64 = cp.signature.split(".")
    sig = bytearray(_b64d(s64))
    sig[10] ^= 0x01
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoint SET signature = :v WHERE seq = :seq"),
                     {"v": f"{h64}.{p64}.{_b64e(bytes(sig))}", "seq": cp.seq})
    res = verify(engine, T)
    assert (res.ok, res.first_bad_seq) == (False, seqs[59])
    assert "does not verify" in res.problem and f"seq {seqs[59]}" in res.problem


def test_checkpoint_hash_edited_without_resigning(signed):
    engine, seqs = signed
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoint SET hash = :v WHERE seq = :seq"), {"v": "0f" * 32, "seq": seqs[-1]})
    res = verify(engine, T)
    assert res.first_bad_seq == seqs[-1] and "signed hash" in res.problem


def test_checkpoint_signed_by_a_foreign_key(signed):
    """An attacker re-signs with their own P-384 key: not among the trusted keys."""
    engine, seqs = signed
    cp = cps(engine)[1]
    key = ec.generate_private_key(ec.SECP384R1())
    h64, p64, _ = cp.signature.split(".")
    header = json.loads(_b64d(h64))
    header["kid"] = "attacker"
    h64 = _b64e(json.dumps(header).encode())
    r, s_ = decode_dss_signature(key.sign(f"{h64}.{p64}".encode(), ec.ECDSA(hashes.SHA384())))
    forged = f"{h64}.{p64}.{_b64e(r.to_bytes(48, 'big') + s_.to_bytes(48, 'big'))}"
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoint SET signature = :v, key_id = 'attacker' WHERE seq = :seq"),
                     {"v": forged, "seq": cp.seq})
    res = verify(engine, T)
    assert res.first_bad_seq == seqs[-1] and "unknown key" in res.problem


def test_chain_rewritten_consistently_is_caught_by_the_checkpoint(signed):
    """Someone with database access edits row 30 and recomputes every later hash and the head:
    the chain is internally consistent again, but no longer matches the signed checkpoint."""
    engine, seqs = signed
    with write_tx(engine) as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(s.audit_event).order_by(s.audit_event.c.seq))]
        prev = rows[29]["hash"]
        for r in rows[30:]:
            if r["seq"] == seqs[30]:
                r["outcome"] = "deny"
            r["prev_hash"] = prev
            r["hash"] = prev = row_hash(r)
            conn.execute(s.audit_event.update().where(s.audit_event.c.seq == r["seq"])
                         .values(outcome=r["outcome"], prev_hash=r["prev_hash"], hash=r["hash"]))
        conn.execute(s.audit_head.update().values(hash=prev))
    res = verify(engine, T)
    assert not res.ok and res.first_bad_seq == seqs[59]
    assert "rewritten" in res.problem and res.checked == 59


def test_truncation_behind_a_rewound_head_is_caught_by_the_checkpoint(signed):
    engine, seqs = signed
    with write_tx(engine) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq > :seq"), {"seq": seqs[69]})
        h = conn.execute(select(s.audit_event.c.hash).where(s.audit_event.c.seq == seqs[69])).scalar()
        conn.execute(s.audit_head.update().values(seq=seqs[69], hash=h))
    res = verify(engine, T)
    assert not res.ok and res.first_bad_seq == seqs[-1] and "beyond the chain" in res.problem


def test_deleted_checkpointed_row(signed):
    engine, seqs = signed
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": seqs[59]})
    res = verify(engine, T)
    assert not res.ok and res.first_bad_seq == seqs[59] and "missing" in res.problem


def test_key_rotation_keeps_old_checkpoints_verifiable(signed):
    engine, seqs = signed
    old_kid = signing.public_jwk("audit-signing")["kid"]
    old, new = rotate_key()
    assert old == old_kid and new != old
    assert set(trusted_keys()) == {old, new}
    fill(engine, 5)
    cp = checkpoint(engine, T)
    assert cp.key_id == new
    res = verify(engine, T)
    assert res.ok and res.checkpoints == 3, res.problem
    # a verifier that no longer trusts the retired key notices
    res = verify(engine, T, keys={new: trusted_keys()[new]})
    assert not res.ok and "unknown key" in res.problem and res.first_bad_seq == seqs[59]
