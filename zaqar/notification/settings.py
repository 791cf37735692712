"""The ``[notification]`` options as one plain, immutable value.

Senders take a :class:`Settings` rather than the configuration object, so
that tests build one directly and no sender reads options mid-delivery.
Its defaults are the options' defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from zaqar.conf import notification as options


@dataclasses.dataclass(frozen=True)
class MailTemplate:
    """One confirmation email template (see the ``*_email_template`` options).

    Attributes:
        topic: The subject line.
        body: The text; ``{0}`` is the queue name, ``{1}`` the project and
            ``{2}`` the confirmation link.
        sender: The From address.
    """

    topic: str
    body: str
    sender: str

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> MailTemplate:
        """Build a template from an option's dictionary."""
        return cls(str(value['topic']), str(value['body']), str(value['sender']))


def _default(opt: Any) -> Any:
    return opt.default


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a sender reads from ``[notification]``.

    Secrets are left out of ``repr`` so that logging a ``Settings`` cannot
    leak them.
    """

    smtp_mode: str = _default(options.smtp_mode)
    smtp_host: str | None = _default(options.smtp_host)
    smtp_port: int | None = _default(options.smtp_port)
    smtp_user_name: str | None = _default(options.smtp_user_name)
    smtp_user_password: str | None = dataclasses.field(
        default=_default(options.smtp_user_password), repr=False
    )
    smtp_security: str = _default(options.smtp_security)
    smtp_timeout: float = _default(options.smtp_timeout)
    smtp_command: str = _default(options.smtp_command)
    webhook_timeout: float = _default(options.webhook_timeout)
    webhook_signing_secret: str | None = dataclasses.field(
        default=_default(options.webhook_signing_secret), repr=False
    )
    external_confirmation_url: str | None = _default(options.external_confirmation_url)
    subscription_confirmation_email_template: MailTemplate = MailTemplate.of(
        _default(options.subscription_confirmation_email_template)
    )
    unsubscribe_confirmation_email_template: MailTemplate = MailTemplate.of(
        _default(options.unsubscribe_confirmation_email_template)
    )

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Settings:
        """Read the ``[notification]`` group of a registered configuration."""
        group = conf.notification
        return cls(
            smtp_mode=group.smtp_mode,
            smtp_host=group.smtp_host,
            smtp_port=group.smtp_port,
            smtp_user_name=group.smtp_user_name,
            smtp_user_password=group.smtp_user_password,
            smtp_security=group.smtp_security,
            smtp_timeout=group.smtp_timeout,
            smtp_command=group.smtp_command,
            webhook_timeout=group.webhook_timeout,
            webhook_signing_secret=group.webhook_signing_secret,
            external_confirmation_url=group.external_confirmation_url,
            subscription_confirmation_email_template=MailTemplate.of(
                group.subscription_confirmation_email_template
            ),
            unsubscribe_confirmation_email_template=MailTemplate.of(
                group.unsubscribe_confirmation_email_template
            ),
        )
