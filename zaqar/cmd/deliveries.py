"""``zaqar-deliveries``: list notification deliveries, for operators.

By default it lists the deliveries that failed for good (their retry
policy gave up, or the subscriber refused them), oldest first, one JSON
object per line; ``--pending`` lists those still waiting to be sent.
Subscriber URLs are shown without any credentials they carry.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg

from zaqar import pipeline
from zaqar.cmd import common
from zaqar.notification import outbox
from zaqar.operations.kinds import unscoped
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import Message

CLI_OPTS = [
    cfg.BoolOpt(
        'pending',
        default=False,
        help='List the deliveries waiting to be sent (or retried) instead of '
        'the failed ones.',
    ),
    cfg.IntOpt(
        'limit',
        default=100,
        min=1,
        help='List at most this many.',
    ),
]

# The user and password of a URL: from "//" to the last "@" of the authority
# (which ends at the first "/", "?" or "#").
_USERINFO = re.compile(r'^(?P<scheme>[^:/?#]+:)?//[^/?#]*@')


def parse_args(argv: Sequence[str]) -> cfg.ConfigOpts:
    """Parse the command line and configuration files."""
    return common.parse_command_line(
        argv,
        prog='zaqar-deliveries',
        description='List the notification deliveries that failed for good (or, '
        'with --pending, those waiting), one JSON object per line, from the '
        'storage named by [drivers] message_store.',
        cli_opts=CLI_OPTS,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the deliveries; return the exit status."""
    common.setup_logging()
    conf = parse_args(sys.argv[1:] if argv is None else argv)
    storage = common.load_checked_storage(conf, 'zaqar-deliveries')
    if storage is None:
        return 2
    try:
        driver = pipeline.unwrapped(storage)
        queue = outbox.OUTBOX if conf.pending else outbox.FAILED
        for message in _listed(driver, queue, conf.limit):
            print(json.dumps(describe(message), sort_keys=True))
    except errors.StorageError as ex:
        print(f'zaqar-deliveries: storage failed: {ex}', file=sys.stderr)
        return 1
    finally:
        storage.close()
    return 0


def _listed(driver: DataDriver, queue: str, limit: int) -> list[Message]:
    return driver.messages.list(
        queue,
        outbox.INTERNAL_PROJECT,
        outbox.POSTER,
        limit=limit,
        echo=True,
        include_claimed=True,
        include_delayed=True,
    )


def describe(message: Message) -> dict[str, Any]:
    """One delivery as an operator reads it."""
    body = message.body if isinstance(message.body, dict) else {}
    project, kind = unscoped(str(body.get('project', '')))
    return {
        'id': message.id,
        'age': message.age,
        'type': body.get('type'),
        'project': project,
        kind.value: body.get('source'),
        'subscription_id': body.get('subscription_id'),
        'subscriber': without_credentials(str(body.get('subscriber', ''))),
        'attempts': body.get('attempt'),
        'error': body.get('error'),
        'payload': body.get('payload'),
    }


def without_credentials(url: str) -> str:
    """``url`` with any user and password removed, the rest as written.

    Done on the text rather than through urlsplit, which raises for a port
    out of range or a malformed host (both may be stored: such deliveries
    fail, and are listed here) and loses the brackets of an IPv6 host.
    """
    return _USERINFO.sub(r'\g<scheme>//', url, count=1)


if __name__ == '__main__':
    sys.exit(main())
