#!/usr/bin/env python3
"""The ceiling tools/bench compares zaqar-server with: a bare Falcon app.

It answers the routes the benchmark scenarios use as trivially as a
zaqar-shaped answer allows: a message POST parses the JSON body, makes one
id per message and answers 201 with ``{"resources": [...]}``; claims,
listings and deletes answer fixed-shape documents without storing anything.
Whatever zaqar-server costs beyond this app is the cost of zaqar itself,
since both are served by gunicorn with the same settings.

Run by tools/bench as ``python tools/bench_ceiling.py --config-file FILE``:
the configuration file is the one zaqar-server would read, and the gunicorn
settings come from ``zaqar.cmd.server.gunicorn_options`` (worker class,
workers, threads, access log), so the ceiling follows the server's settings
as they change. ``create_app`` is also an app factory gunicorn can load
directly: ``gunicorn 'bench_ceiling:create_app()'`` from tools/.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import falcon

# Run as a script from a checkout: import the zaqar of this checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The body tools/bench posts; listings and claims answer messages of the
# same size so that the ceiling serializes what zaqar would.
PAYLOAD = {'payload': 'x' * 200}
MESSAGE_TTL = 3600
LISTING_LIMIT = 10
CLAIM_LIMIT = 10
QUEUE_LIMIT = 10


def _messages_path(queue_name: str) -> str:
    return f'/v2/queues/{queue_name}/messages'


def _message(queue_name: str, message_id: str, claim_id: str | None) -> Any:
    href = f'{_messages_path(queue_name)}/{message_id}'
    if claim_id:
        href = f'{href}?claim_id={claim_id}'
    return {
        'id': message_id,
        'href': href,
        'ttl': MESSAGE_TTL,
        'age': 0,
        'body': PAYLOAD,
    }


def _read_json(req: falcon.Request) -> Any:
    # Like zaqar, read and parse the whole body ourselves.
    raw = req.bounded_stream.read()
    return json.loads(raw) if raw else None


class Messages:
    """``/v2/queues/{queue_name}/messages``."""

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        document = _read_json(req)
        ids = [uuid.uuid4().hex for _ in document['messages']]
        base = _messages_path(queue_name)
        resp.status = falcon.HTTP_201
        resp.location = f'{base}?ids={",".join(ids)}'
        resp.media = {'resources': [f'{base}/{message_id}' for message_id in ids]}

    def on_get(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        # A page that never ends: observers always get a full page and a
        # next link, which is the most a listing can cost.
        limit = req.get_param_as_int('limit') or LISTING_LIMIT
        items = [_message(queue_name, uuid.uuid4().hex, None) for _ in range(limit)]
        marker = items[-1]['id']
        resp.media = {
            'messages': items,
            'links': [
                {
                    'rel': 'next',
                    'href': f'{_messages_path(queue_name)}?echo=true'
                    f'&limit={limit}&marker={marker}',
                }
            ],
        }

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        resp.status = falcon.HTTP_204


class Message:
    """``/v2/queues/{queue_name}/messages/{message_id}``."""

    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        message_id: str,
    ) -> None:
        resp.status = falcon.HTTP_204


class Claims:
    """``/v2/queues/{queue_name}/claims``: always a full claim."""

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        _read_json(req)
        limit = req.get_param_as_int('limit') or CLAIM_LIMIT
        claim_id = uuid.uuid4().hex
        resp.status = falcon.HTTP_201
        resp.location = f'/v2/queues/{queue_name}/claims/{claim_id}'
        resp.media = {
            'messages': [
                _message(queue_name, uuid.uuid4().hex, claim_id) for _ in range(limit)
            ]
        }


class Queues:
    """``/v2/queues``: a page of made-up queues after the marker."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = req.get_param_as_int('limit') or QUEUE_LIMIT
        marker = req.get_param('marker') or ''
        names = [f'{marker}-{index}' for index in range(limit)]
        resp.media = {
            'queues': [{'name': name, 'href': f'/v2/queues/{name}'} for name in names],
            'links': [
                {'rel': 'next', 'href': f'/v2/queues?limit={limit}&marker={names[-1]}'}
            ],
        }


class Queue:
    """``/v2/queues/{queue_name}``."""

    def on_put(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        _read_json(req)
        resp.status = falcon.HTTP_201
        resp.location = f'/v2/queues/{queue_name}'


class Root:
    """``/``: what tools/bench polls until the server answers."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {'versions': []}


def create_app() -> falcon.App[falcon.Request, falcon.Response]:
    """Build the bare app (a gunicorn app factory)."""
    app = falcon.App()
    app.add_route('/', Root())
    app.add_route('/v2/queues', Queues())
    app.add_route('/v2/queues/{queue_name}', Queue())
    app.add_route('/v2/queues/{queue_name}/messages', Messages())
    app.add_route('/v2/queues/{queue_name}/messages/{message_id}', Message())
    app.add_route('/v2/queues/{queue_name}/claims', Claims())
    return app


def main(argv: list[str]) -> int:
    """Serve the bare app with zaqar-server's gunicorn settings."""
    from zaqar.cmd import common
    from zaqar.cmd import server

    class CeilingApplication(server.ZaqarApplication):
        """zaqar-server's gunicorn application serving the bare app instead.

        Subclassing keeps how settings reach gunicorn (load_config) the
        server's own.
        """

        def load(self) -> falcon.App[falcon.Request, falcon.Response]:
            return create_app()

    common.setup_logging()
    conf = server.parse_args(argv)
    options = server.gunicorn_options(conf)
    options['proc_name'] = 'zaqar-bench-ceiling'
    CeilingApplication(conf, options).run()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
