"""``zaqar-api-key``: make an API key and the entry that accepts it.

Prints a fresh random key (give it to the client; it is kept nowhere) and
the line to add under ``keys:`` in ``[api_key] key_file``::

    $ zaqar-api-key --project billing --role admin --name ci
    key: zaqar_...
    entry: - {"hash": "sha256:...", "project": "billing", "roles": ["admin"], ...}

With ``--hash-stdin`` it reads a key from standard input instead of making
one and prints only its entry (to rebuild a lost file from keys in hand).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from zaqar.transport import api_keys


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog='zaqar-api-key',
        description='Make an API key for auth_strategy = api_key and print it '
        'with the entry to add under "keys:" in the [api_key] key_file. The '
        'server picks the change up within a second.',
    )
    parser.add_argument('--project', required=True, help='Project the key acts in.')
    parser.add_argument(
        '--role',
        action='append',
        default=[],
        dest='roles',
        help='A role of the key (repeat for several), e.g. admin.',
    )
    parser.add_argument('--name', help='Name of the key in the server logs.')
    parser.add_argument(
        '--hash-stdin',
        action='store_true',
        help='Read an existing key from standard input; print only its entry.',
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Print a key and its entry; return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.hash_stdin:
        key = sys.stdin.readline().strip()
        if not key:
            print('zaqar-api-key: no key on standard input', file=sys.stderr)
            return 2
    else:
        key = api_keys.new_key()
    entry: dict[str, object] = {
        'hash': api_keys.hash_of(key),
        'project': args.project,
        'roles': args.roles,
    }
    if args.name is not None:
        entry['name'] = args.name
    # Check the entry as the server will, so that a bad one fails here.
    try:
        api_keys.parse_entries({'keys': [entry]})
    except api_keys.InvalidKeyFile as ex:
        print(f'zaqar-api-key: {ex}', file=sys.stderr)
        return 2
    if not args.hash_stdin:
        print(f'key: {key}')
    # NOTE: JSON is YAML, so the entry fits either form of the key file.
    print(f'entry: - {json.dumps(entry)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
