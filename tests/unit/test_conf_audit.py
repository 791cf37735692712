"""Options set in the files but read by nothing are named, never ignored quietly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from oslo_config import cfg

from zaqar import conf as zaqar_conf
from zaqar.conf import audit


def conf_from(tmp_path: Path, text: str) -> cfg.ConfigOpts:
    path = tmp_path / 'zaqar.conf'
    path.write_text(text)
    return zaqar_conf.new_conf(['--config-file', str(path)], default_config_files=[])


def test_served_options_are_not_reported(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[DEFAULT]\nadmin_mode = true\n'
        '[drivers:message_store:redis]\nuri = redis://127.0.0.1:6379\n'
        '[transport]\nmax_queues_per_page = 10\n',
    )
    assert audit.unread_options(conf) == []


def test_upstreams_claim_id_option_for_bulk_deletes_is_read(tmp_path: Path) -> None:
    conf = conf_from(tmp_path, '[transport]\nmessage_delete_with_claim_id = true\n')

    assert audit.unread_options(conf) == []
    assert conf.transport.message_delete_with_claim_id is True


def test_upstream_options_not_served_are_named_with_why(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[DEFAULT]\npooling = true\n'
        '[drivers]\nmanagement_store = mongodb\n'
        '[drivers:management_store:mongodb]\nuri = mongodb://x\n'
        '[transport]\nmessage_encryption_key = secret\n'
        '[storage]\ntopic_pipeline = x\n',
    )
    assert audit.unread_options(conf) == [
        '[DEFAULT] pooling is set but not served: pools and flavors are not served',
        '[drivers] management_store is set but not served: pools and flavors are '
        'not served',
        '[drivers:management_store:mongodb] uri is set but not served: this server '
        'has no [drivers:management_store:mongodb]',
        '[transport] message_encryption_key is set but not served: messages are not '
        'encrypted at rest',
        '[storage] topic_pipeline is set but not served: topic operations run the '
        'queue, message and subscription pipelines',
    ]


def test_misspelt_options_and_groups_are_named(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[transport]\nmax_queue_per_page = 10\n[tarnsport]\nmax_queues_per_page = 5\n',
    )
    assert audit.unread_options(conf) == [
        '[transport] max_queue_per_page is set but is no option of this server '
        '(misspelt?); ignored',
        '[tarnsport] max_queues_per_page is set but is no option of this server '
        '(misspelt?); ignored',
    ]


def test_each_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    conf = conf_from(tmp_path, '[DEFAULT]\nunreliable = true\n')
    with caplog.at_level(logging.WARNING):
        audit.warn_about_unread_options(conf)
    assert [record.levelname for record in caplog.records] == ['WARNING']
    assert 'unreliable' in caplog.records[0].getMessage()
