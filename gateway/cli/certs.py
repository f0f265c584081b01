"""`hep certs init`: development certificates and keys under certs/ (never committed).

Writes (only what is missing - idempotent):
  ca.crt / ca.key           a development CA (P-384, 5 years)
  server.crt / server.key   the gateway's TLS certificate, SAN localhost + 127.0.0.1 (+ --host), 1 year
  client.crt / client.key   a partner client certificate signed by the CA, for mutual TLS (`hep serve --tls`)
  token-signing.pem         the key signing access tokens (ES384)
  audit-signing.pem         the key signing audit checkpoints (ES384)
  keyring.json              the data-encryption key ring (AES-GCM)
Private keys are PEM files with mode 0600. Production uses the county's CA and key store instead.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def register(sub) -> None:
    p = sub.add_parser("certs", help="development CA, TLS certificates and signing keys")
    s = p.add_subparsers(dest="certs_command", required=True, metavar="ACTION")
    i = s.add_parser("init", help="create what is missing under --dir (idempotent)")
    i.add_argument("--dir", default=os.environ.get("HEP_CERTS_DIR", "certs"), help="default: %(default)s")
    i.add_argument("--host", action="append", default=[], help="extra server name or IP for the server certificate")
    i.add_argument("--client-name", default="hep-dev-client", help="CN of the client certificate")
    i.set_defaults(func=init)


def _write_key(path: Path, key) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HEP Gateway (development)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _load_or_new_key(path: Path):
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None), False
    key = ec.generate_private_key(ec.SECP384R1())
    _write_key(path, key)
    return key, True


def _issue(subject_key, subject: x509.Name, ca_key, ca_name: x509.Name, days: int, *, ca: bool = False,
           sans: list | None = None, eku=None) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
         .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=True, encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(ca_key, hashes.SHA384())


def _san(host: str):
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def init(args) -> int:
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    made: list[str] = []

    ca_key, new = _load_or_new_key(d / "ca.key")
    made += ["ca.key"] if new else []
    ca_name = _name("HEP Gateway development CA")
    if new or not (d / "ca.crt").exists():
        ca_cert = _issue(ca_key, ca_name, ca_key, ca_name, 5 * 365, ca=True)
        (d / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        made.append("ca.crt")
        for stale in ("server.crt", "client.crt"):  # a new CA invalidates what the old one signed
            (d / stale).unlink(missing_ok=True)
    else:
        ca_name = x509.load_pem_x509_certificate((d / "ca.crt").read_bytes()).subject

    hosts = list(dict.fromkeys(["localhost", "127.0.0.1", *args.host]))
    for stem, cn, eku, sans in (("server", "localhost", ExtendedKeyUsageOID.SERVER_AUTH, [_san(h) for h in hosts]),
                                ("client", args.client_name, ExtendedKeyUsageOID.CLIENT_AUTH, None)):
        key, new = _load_or_new_key(d / f"{stem}.key")
        made += [f"{stem}.key"] if new else []
        if new or not (d / f"{stem}.crt").exists():
            cert = _issue(key, _name(cn), ca_key, ca_name, 365, sans=sans, eku=eku)
            (d / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            made.append(f"{stem}.crt")

    os.environ["HEP_CERTS_DIR"] = str(d)
    from ..crypto import keyring, signing
    for name in ("token-signing", "audit-signing"):
        if not (d / f"{name}.pem").exists():
            signing.signing_key(name)
            made.append(f"{name}.pem")
    kr = keyring.keyring_path()
    if not kr.exists():
        keyring.init(kr)
        made.append(kr.name)

    from ..auth.registry import cert_thumbprint
    print(f"{d}: " + (f"created {', '.join(made)}" if made else "nothing to do (all present)"))
    print(f"client certificate x5t#S256: {cert_thumbprint((d / 'client.crt').read_bytes())}"
          f"  (bind it: hep clients add ... --cert {d / 'client.crt'})")
    return 0
