"""The Flask application factory: configuration, store, blueprints, errors, request logging."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, g, request

from .config import Settings
from .logging_setup import configure as configure_logging

log = logging.getLogger("hep.http")


def create_app(settings: Settings | None = None, engine=None) -> Flask:
    settings = settings or Settings()
    configure_logging(settings.log_json)
    app = Flask(__name__)
    app.config.update(settings.flask_config())
    app.extensions["hep.settings"] = settings
    if engine is None:
        from .store import open_store
        engine = open_store(settings.database_url)
    app.extensions["hep.engine"] = engine

    from .api import errors, health
    from .api.fhir import fhir
    errors.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(fhir)
    for name in _optional_blueprints():
        app.register_blueprint(name)

    @app.before_request
    def _start():
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        g.t0 = time.perf_counter()

    @app.after_request
    def _finish(resp):
        resp.headers["X-Request-ID"] = g.get("request_id", "")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("Cache-Control", "no-store")
        ms = round((time.perf_counter() - g.get("t0", time.perf_counter())) * 1000, 1)
        log.info("request", extra={"request_id": g.get("request_id"), "method": request.method,
                                   "path": request.path, "status": resp.status_code, "ms": ms})
        return resp

    return app


def _optional_blueprints() -> list:
    """Blueprints of capabilities that register themselves in gateway.api.BLUEPRINTS."""
    from . import api
    return [bp() for bp in api.blueprint_factories()]
