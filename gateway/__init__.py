"""HEP Gateway: the service (store, identity, passport, policy, enforcement, audit, APIs, pages, CLI)."""
__version__ = "0.1.0"
