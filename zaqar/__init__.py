"""Zaqar: a multi-tenant queuing service speaking the Zaqar v2 HTTP API."""
