"""Configuration: every option group, registered once by :func:`register_all`.

Each module of this package defines one group (``GROUP_NAME``, ``ALL_OPTS``).
Two groups belong to libraries and keep their names and options:
``[oslo_policy]`` (oslo.policy) and ``[cors]`` (oslo.middleware); they are
registered here too, so that values are checked at start-up and the sample
documents them. ``[keystone_authtoken]`` is keystonemiddleware's: it
registers it itself, and the sample lists it through its own namespace.
Nothing else outside this package registers options.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from oslo_config import cfg
from oslo_middleware import cors
from oslo_policy import opts as policy_opts

from zaqar.conf import api_key
from zaqar.conf import default
from zaqar.conf import drivers
from zaqar.conf import gc
from zaqar.conf import mongodb
from zaqar.conf import notification
from zaqar.conf import redis
from zaqar.conf import signed_url
from zaqar.conf import sqlite
from zaqar.conf import storage
from zaqar.conf import transport
from zaqar.conf import wsgi

MODULES: tuple[ModuleType, ...] = (
    default,
    drivers,
    transport,
    wsgi,
    storage,
    sqlite,
    redis,
    mongodb,
    signed_url,
    gc,
    notification,
    api_key,
)

# Upstream Zaqar's CORS defaults, so that an existing [cors] section behaves
# the same: the headers its clients send and read, and the API's methods
# (plus the headers of features upstream lacks).
CORS_DEFAULTS: dict[str, list[str]] = {
    'allow_headers': [
        'X-Auth-Token',
        'X-Identity-Status',
        'X-Roles',
        'X-Service-Catalog',
        'X-User-Id',
        'X-Tenant-Id',
        'X-OpenStack-Request-ID',
        'X-Trace-Info',
        'X-Trace-HMAC',
        'Client-id',
        # Beyond upstream: the headers of what this server adds (API keys,
        # safe re-sends).
        'Authorization',
        'Idempotency-Key',
    ],
    'expose_headers': [
        'X-Auth-Token',
        'X-Subject-Token',
        'X-Service-Token',
        'X-OpenStack-Request-ID',
    ],
    'allow_methods': ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'],
}


def set_library_defaults() -> None:
    """Give the library groups Zaqar's defaults (today: ``[cors]``).

    oslo.middleware keeps the defaults on its option objects, so this holds
    for every configuration of the process; it is idempotent.
    """
    cors.set_defaults(**CORS_DEFAULTS)


def library_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The library groups Zaqar registers, with Zaqar's defaults."""
    set_library_defaults()
    # NOTE: the libraries register these again when used (Enforcer, CORS);
    # oslo.config accepts an equal option registered twice.
    return [*policy_opts.list_opts(), ('cors', list(cors.OPTS))]


def register_all(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    """Register every option group of the service on ``conf`` and return it."""
    for module in MODULES:
        group = None if module.GROUP_NAME == 'DEFAULT' else module.GROUP_NAME
        conf.register_opts(module.ALL_OPTS, group=group)
    for group, opts in library_opts():
        conf.register_opts(opts, group=group)
    return conf


def new_conf(
    args: Sequence[str] = (), default_config_files: Sequence[str] | None = None
) -> cfg.ConfigOpts:
    """Return a fresh, registered and parsed configuration object.

    Args:
        args: Command-line style arguments (e.g. ``['--config-file', path]``).
        default_config_files: Files read when ``args`` names none; None means
            oslo.config's usual search for ``zaqar.conf``.
    """
    conf = register_all(cfg.ConfigOpts())
    conf(
        list(args),
        project='zaqar',
        default_config_files=(
            list(default_config_files) if default_config_files is not None else None
        ),
    )
    return conf


class InvalidOption(ValueError):
    """An option of the configuration file has a value it cannot take."""


def check_values(conf: cfg.ConfigOpts) -> None:
    """Read every option once, so that a bad value fails now, not later.

    oslo.config checks a value (type, range, choices) only when it is read;
    an option nothing reads (such as ``auth_strategy = keystone``) would
    otherwise be accepted silently.

    Raises:
        InvalidOption: Names the first option whose value is invalid.
    """
    for group, opts in list_opts():
        section = conf if group == 'DEFAULT' else conf[group]
        for opt in opts:
            try:
                getattr(section, opt.dest)
            except (cfg.ConfigFileValueError, ValueError) as ex:
                raise InvalidOption(f'[{group}] {opt.name}: {ex}') from None
            except cfg.Error:
                # NOTE: a "$" oslo.config could not substitute; its message
                # would quote part of the value, which may be a password.
                raise InvalidOption(
                    f'[{group}] {opt.name}: "$" starts a substitution of '
                    f'another option; write a literal "$" as "$$"'
                ) from None
    check_consistency(conf)


# Subscriber schemes this server can deliver to.
DELIVERABLE_SCHEMES = ('http', 'https', 'mailto')


def check_consistency(conf: cfg.ConfigOpts) -> None:
    """Refuse options that are valid alone but cannot work together.

    Raises:
        InvalidOption: Names the option and why.
    """
    undeliverable = [
        scheme
        for scheme in conf.transport.subscriber_types
        if scheme not in DELIVERABLE_SCHEMES
    ]
    if undeliverable:
        raise InvalidOption(
            f'[transport] subscriber_types: {", ".join(undeliverable)} cannot be '
            f'delivered by this server (trust+ schemes need Keystone trusts); '
            f'use only {", ".join(DELIVERABLE_SCHEMES)}'
        )
    notification = conf.notification
    if notification.smtp_mode != 'third_part' and not notification.smtp_host:
        raise InvalidOption(
            f'[notification] smtp_mode = {notification.smtp_mode} sends email over '
            f'SMTP, which needs [notification] smtp_host'
        )
    if conf.auth_strategy == default.API_KEY and not conf.api_key.key_file:
        raise InvalidOption(
            '[api_key] key_file: auth_strategy = api_key needs the file listing '
            'the accepted keys (make one with zaqar-api-key)'
        )
    if notification.require_confirmation and not conf.signed_url.secret_key:
        raise InvalidOption(
            '[notification] require_confirmation needs [signed_url] secret_key: '
            'confirmation requests carry a pre-signed URL'
        )


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """List every option by group, for ``oslo-config-generator``."""
    return [
        *((module.GROUP_NAME, list(module.ALL_OPTS)) for module in MODULES),
        *library_opts(),
    ]
