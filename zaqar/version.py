"""The package version, kept in one place for setup.cfg and the server."""

__version__ = '0.1.0'
