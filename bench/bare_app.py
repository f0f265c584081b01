"""The floor for bench/api.py: a bare Flask app with one JSON endpoint, served by gunicorn with the
gateway's settings (gthread, same workers and threads), so the API benchmark can say how much of a
request's cost is the gateway's own work. Not a benchmark itself: `python bench/bare_app.py` exits.

  gunicorn -k gthread -w 2 --threads 4 -b 127.0.0.1:8099 --chdir bench bare_app:app
"""
from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/json")
def json_endpoint():
    return jsonify(resourceType="Bundle", type="document", entry=[])


if __name__ == "__main__":
    print("bench/bare_app.py is served by bench/api.py; nothing to measure on its own")
