"""The WSGI (HTTP) transport: the v2 API on Falcon.

:func:`zaqar.transport.wsgi.app.create_app` builds the application.
"""
