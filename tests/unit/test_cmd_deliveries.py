"""zaqar-deliveries: how a delivery is shown to an operator."""

from __future__ import annotations

import pytest

from zaqar.cmd.deliveries import without_credentials


@pytest.mark.parametrize(
    ('url', 'shown'),
    [
        (
            'http://user:pw@example.com:8080/hook?x=1',
            'http://example.com:8080/hook?x=1',
        ),
        ('http://user@example.com/', 'http://example.com/'),
        # An unescaped "@" in the password: the host follows the last one.
        ('http://user:p@ss@example.com/', 'http://example.com/'),
        ('https://user:pw@[::1]:8443/hook', 'https://[::1]:8443/hook'),
        # Stored, though urlsplit refuses them: their deliveries fail.
        ('http://user:pw@example.com:99999/', 'http://example.com:99999/'),
        ('http://user:pw@[::1/hook', 'http://[::1/hook'),
        # No credentials: shown as stored.
        ('http://example.com/a@b?to=c@d', 'http://example.com/a@b?to=c@d'),
        ('mailto:ops@example.com', 'mailto:ops@example.com'),
    ],
)
def test_subscribers_are_shown_without_credentials(url: str, shown: str) -> None:
    assert without_credentials(url) == shown
