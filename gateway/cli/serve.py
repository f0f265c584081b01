"""`hep serve`: the gateway under gunicorn (production-like, also for the demo)."""
from __future__ import annotations

import os

from ._common import add_store_args


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the gateway (gunicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("HEP_PORT", 8080)))
    p.add_argument("--workers", type=int, default=int(os.environ.get("HEP_WORKERS", 2)))
    p.add_argument("--threads", type=int, default=int(os.environ.get("HEP_THREADS", 4)))
    p.add_argument("--tls", action="store_true", help="serve HTTPS with the certificates from `hep certs init`, "
                                                     "requiring client certificates (mutual TLS)")
    add_store_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.database:
        os.environ["HEP_DATABASE_URL"] = args.database
    os.environ["HEP_TENANT"] = args.tenant
    serve(args.host, args.port, args.workers, args.threads, tls=args.tls)
    return 0


def serve(host: str, port: int, workers: int = 2, threads: int = 4, tls: bool = False) -> None:
    from gunicorn.app.base import BaseApplication

    from ..store import open_store
    open_store(os.environ.get("HEP_DATABASE_URL"))  # migrate once, before workers fork

    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
               "timeout": 120, "graceful_timeout": 20, "accesslog": None, "errorlog": "-", "loglevel": "warning",
               "limit_request_line": 8190, "limit_request_field_size": 16384}
    if tls:
        from pathlib import Path
        import ssl
        certs = Path(os.environ.get("HEP_CERTS_DIR", "certs"))
        options.update(certfile=str(certs / "server.crt"), keyfile=str(certs / "server.key"),
                       ca_certs=str(certs / "ca.crt"), cert_reqs=ssl.CERT_REQUIRED)

    class Gateway(BaseApplication):
        def load_config(self):
            for k, v in options.items():
                self.cfg.set(k, v)

        def load(self):
            from ..app import create_app
            return create_app()

    Gateway().run()
