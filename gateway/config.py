"""Configuration from the environment (twelve-factor): one place lists every setting."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _secret_key(certs_dir: Path) -> str:
    """Session-signing key: HEP_SECRET_KEY, else one generated once into certs/ (never committed)."""
    if os.environ.get("HEP_SECRET_KEY"):
        return os.environ["HEP_SECRET_KEY"]
    path = certs_dir / "session.key"
    if path.exists():
        return path.read_text().strip()
    certs_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass
class Settings:
    database_url: str | None = field(default_factory=lambda: os.environ.get("HEP_DATABASE_URL"))
    tenant: str = field(default_factory=lambda: os.environ.get("HEP_TENANT", "la"))
    base_url: str = field(default_factory=lambda: os.environ.get("HEP_BASE_URL", "http://127.0.0.1:8080"))
    certs_dir: Path = field(default_factory=lambda: Path(os.environ.get("HEP_CERTS_DIR", "certs")))
    var_dir: Path = field(default_factory=lambda: Path(os.environ.get("HEP_VAR_DIR", "var")))
    max_upload_bytes: int = field(default_factory=lambda: int(os.environ.get("HEP_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)))
    max_json_bytes: int = field(default_factory=lambda: int(os.environ.get("HEP_MAX_JSON_BYTES", 5 * 1024 * 1024)))
    log_json: bool = field(default_factory=lambda: os.environ.get("HEP_LOG_FORMAT", "json") == "json")

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": _secret_key(self.certs_dir),
            "MAX_CONTENT_LENGTH": self.max_upload_bytes,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.base_url.startswith("https://"),
        }
