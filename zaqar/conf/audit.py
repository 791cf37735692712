"""Say which options of the configuration files nothing reads.

oslo.config ignores an option no code registered, so an option that
upstream Zaqar has and this server does not serve (``pooling``,
``[drivers] management_store``, ...) or a misspelt one would be ignored
silently. :func:`unread_options` finds them, for a warning at start-up.
"""

from __future__ import annotations

import configparser
import logging
from collections.abc import Iterable
from pathlib import Path

from oslo_config import cfg

LOG = logging.getLogger(__name__)

# Options upstream Zaqar reads that this server does not serve, by group,
# with what an operator should know. A group mapped to None is upstream's
# and served by nothing here, whatever its options.
UPSTREAM_ONLY: dict[str, dict[str, str] | None] = {
    'DEFAULT': {
        'pooling': 'pools and flavors are not served',
        'sharding': 'pools and flavors are not served',
        'unreliable': 'every store here is reliable; nothing to allow',
        'enable_deprecated_api_versions': 'only the v2 API is served',
    },
    'drivers': {
        'management_store': 'pools and flavors are not served',
        'transport': 'only the HTTP transport is served (zaqar-server)',
        'storage': 'only [drivers] message_store selects the store',
    },
    'drivers:management_store:mongodb': None,
    'drivers:management_store:redis': None,
    'drivers:management_store:sqlalchemy': None,
    'drivers:message_store:swift': None,
    'drivers:transport:websocket': None,
    'pooling:catalog': None,
    'profiler': None,
    'storage': {
        'topic_pipeline': 'topic operations run the queue, message and '
        'subscription pipelines',
    },
    'drivers:message_store:mongodb': {
        name: 'this MongoDB driver does not use it'
        for name in (
            'max_reconnect_attempts',
            'max_retry_jitter',
            'partitions',
            'reconnect_sleep',
            'ssl_ca_certs',
            'ssl_cert_reqs',
            'ssl_certfile',
            'ssl_keyfile',
        )
    },
    'drivers:message_store:redis': {
        name: 'this Redis driver never retries a command (it could run twice)'
        for name in ('max_reconnect_attempts', 'reconnect_sleep')
    },
    'transport': {
        'max_flavors_per_page': 'pools and flavors are not served',
        'max_pools_per_page': 'pools and flavors are not served',
        'message_encryption_algorithms': 'messages are not encrypted at rest',
        'message_encryption_key': 'messages are not encrypted at rest',
    },
}


def unread_options(conf: cfg.ConfigOpts) -> list[str]:
    """Describe each option set in the configuration files that is not read.

    Call it once everything that registers options (drivers, stages) is
    loaded.

    Returns:
        One sentence per option, e.g. ``[DEFAULT] pooling is set but not
        served: pools and flavors are not served``.
    """
    found: list[str] = []
    for group, name in _set_options(_files(conf)):
        if _is_registered(conf, group, name):
            continue
        found.append(_describe(group, name))
    return found


def warn_about_unread_options(conf: cfg.ConfigOpts) -> None:
    """Log a warning naming each option of the files that nothing reads."""
    for sentence in unread_options(conf):
        LOG.warning('%s', sentence)


def _describe(group: str, name: str) -> str:
    where = f'[{group}] {name}'
    if group in UPSTREAM_ONLY:
        options = UPSTREAM_ONLY[group]
        if options is None:
            return f'{where} is set but not served: this server has no [{group}]'
        if name in options:
            return f'{where} is set but not served: {options[name]}'
    return f'{where} is set but is no option of this server (misspelt?); ignored'


def _files(conf: cfg.ConfigOpts) -> list[Path]:
    files = [Path(path) for path in conf.config_file or ()]
    for directory in conf.config_dir or ():
        files.extend(sorted(Path(directory).glob('*.conf')))
    return files


def _set_options(files: Iterable[Path]) -> list[tuple[str, str]]:
    """Every (group, option) the files set, in order, once each."""
    seen: dict[tuple[str, str], None] = {}
    for path in files:
        parser = _CaseKeepingParser(
            interpolation=None, strict=False, default_section='\x00none'
        )
        try:
            parser.read(path, encoding='utf-8')
        except configparser.Error:
            # oslo.config parsed the file already; what it accepts and this
            # parser does not is not worth a start-up failure here.
            continue
        for section in parser.sections():
            for name in parser[section]:
                seen[(section, name)] = None
    return list(seen)


class _CaseKeepingParser(configparser.ConfigParser):
    """Keeps option names as written (oslo.config's are case-sensitive)."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _is_registered(conf: cfg.ConfigOpts, group: str, name: str) -> bool:
    dest = name.replace('-', '_')
    try:
        section = conf if group == 'DEFAULT' else conf[group]
    except cfg.NoSuchOptError:
        return False
    return dest in section
