"""Transports: how clients reach the service (only WSGI/HTTP for now).

Nothing in this package talks to a backend directly: transports use the
storage contract of :mod:`zaqar.storage.base` and its records.
"""
