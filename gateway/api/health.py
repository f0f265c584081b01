"""Liveness and readiness: `/healthz` answers only when the store answers."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from . import engine

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # the store is down: say so, do not pretend to be healthy
        return jsonify(status="unavailable", store=type(e).__name__), 503
    return jsonify(status="ok", store="ok")
