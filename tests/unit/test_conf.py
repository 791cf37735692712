"""Configuration: registration, defaults, the sample file and the loaders."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg
from oslo_config import generator

from zaqar import bootstrap
from zaqar import conf as zaqar_conf
from zaqar.cmd import server as server_cmd
from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage import loader as storage_loader
from zaqar.storage.sqlite.driver import SqliteDriver

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_upstream_option_names_and_values() -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    assert conf.drivers.message_store == 'sqlite'
    assert conf['drivers:message_store:sqlite'].database == (
        '~/.local/share/zaqar/zaqar.db'
    )
    assert conf['drivers:transport:wsgi'].bind == '127.0.0.1'
    assert conf['drivers:transport:wsgi'].port == 8888
    assert conf.transport.default_message_ttl == 3600
    assert conf.transport.max_messages_post_size == 262144
    assert conf.transport.client_id_uuid_safe == 'strict'
    assert conf.storage.message_pipeline == []
    assert conf.admin_mode is False


def test_options_come_from_the_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text(
        '[transport]\nmax_claim_ttl = 600\n[storage]\nqueue_pipeline = a, b\n'
    )
    conf = zaqar_conf.new_conf(['--config-file', str(path)])
    assert conf.transport.max_claim_ttl == 600
    assert conf.storage.queue_pipeline == ['a', 'b']


def test_out_of_range_values_are_rejected_when_read(tmp_path: Path) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text('[transport]\ndefault_message_ttl = 5\n')
    conf = zaqar_conf.new_conf(['--config-file', str(path)])
    with pytest.raises(ValueError):
        _ = conf.transport.default_message_ttl


def test_list_opts_covers_every_registered_group() -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    listed = {group for group, _ in zaqar_conf.list_opts()}
    groups = {key for key in conf if isinstance(conf[key], cfg.ConfigOpts.GroupAttr)}
    assert listed == {'DEFAULT', *groups}


def test_checked_in_sample_config_is_current(tmp_path: Path) -> None:
    """Fails when an option changed without running tools/gen-config-sample."""
    output = tmp_path / 'zaqar.conf.sample'
    generator.main(
        [
            '--config-file',
            str(ROOT / 'etc' / 'oslo-config-generator' / 'zaqar.conf'),
            '--output-file',
            str(output),
        ]
    )
    checked_in = (ROOT / 'etc' / 'zaqar.conf.sample').read_text()
    assert output.read_text() == checked_in, 'run tools/gen-config-sample'


def test_unknown_message_store_is_a_configuration_error() -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override('message_store', 'nosuch', group='drivers')
    with pytest.raises(errors.ConfigurationError, match="'nosuch'"):
        bootstrap.load_storage(conf)


def test_sqlite_driver_is_loaded_through_its_entry_point(tmp_path: Path) -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    database = tmp_path / 'deep' / 'dir' / 'z.db'
    conf.set_override('database', str(database), group='drivers:message_store:sqlite')
    driver = bootstrap.load_storage(conf, ManualClock())
    try:
        assert isinstance(driver, SqliteDriver)
        assert database.parent.is_dir()
        assert driver.is_alive()
        assert str(database) in driver.describe()
    finally:
        driver.close()


def test_sqlite_database_in_unwritable_place_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / 'file'
    blocker.write_text('')
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override(
        'database', str(blocker / 'z.db'), group='drivers:message_store:sqlite'
    )
    with pytest.raises(errors.ConfigurationError, match='database'):
        bootstrap.load_storage(conf)


def test_server_flags_override_the_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text(
        '[drivers:transport:wsgi]\nbind = 0.0.0.0\nport = 9999\nworkers = 5\n'
    )
    conf = server_cmd.parse_args(['--config-file', str(path)])
    options = server_cmd.gunicorn_options(conf)
    assert options['bind'] == ['0.0.0.0:9999']
    assert options['workers'] == 5

    conf = server_cmd.parse_args(
        ['--config-file', str(path), '--bind', '127.0.0.1:7000', '--workers', '1']
    )
    options = server_cmd.gunicorn_options(conf)
    assert options['bind'] == ['127.0.0.1:7000']
    assert options['workers'] == 1


@pytest.mark.parametrize(('cores', 'workers'), [({0, 1, 2}, 6), ({5}, 2)])
def test_unset_workers_are_two_per_usable_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: set[int], workers: int
) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text('[drivers:transport:wsgi]\nport = 9999\n')
    conf = server_cmd.parse_args(['--config-file', str(path)])
    monkeypatch.setattr(server_cmd.os, 'sched_getaffinity', lambda pid: cores)

    assert server_cmd.gunicorn_options(conf)['workers'] == workers


def test_server_brackets_ipv6_listen_addresses() -> None:
    conf = server_cmd.parse_args([])
    conf.set_override('bind', '::1', group='drivers:transport:wsgi')
    assert server_cmd.gunicorn_options(conf)['bind'] == ['[::1]:8888']


def test_registering_twice_is_harmless_but_conflicting_options_fail() -> None:
    conf = zaqar_conf.register_all(cfg.ConfigOpts())
    zaqar_conf.register_all(conf)
    with pytest.raises(cfg.DuplicateOptError):
        conf.register_opt(cfg.IntOpt('message_store'), group='drivers')


def test_an_invalid_value_no_code_reads_still_fails_the_check(tmp_path: Path) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text('[DEFAULT]\nauth_strategy = ldap\n')
    conf = zaqar_conf.new_conf(['--config-file', str(path)])
    with pytest.raises(zaqar_conf.InvalidOption, match=r'\[DEFAULT\] auth_strategy'):
        zaqar_conf.check_values(conf)


def test_a_dollar_in_a_password_fails_the_check_without_the_password(
    tmp_path: Path,
) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text('[drivers:message_store:redis]\nuri = redis://:pa$word@h/0\n')
    conf = zaqar_conf.new_conf(['--config-file', str(path)])
    with pytest.raises(zaqar_conf.InvalidOption) as raised:
        zaqar_conf.check_values(conf)
    assert str(raised.value).startswith('[drivers:message_store:redis] uri:')
    assert '"$$"' in str(raised.value)
    assert 'pa' not in str(raised.value) and 'word' not in str(raised.value)


def test_valid_configurations_pass_the_check(tmp_path: Path) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text(
        '[DEFAULT]\nauth_strategy = noauth\n[transport]\nmax_claim_ttl = 90\n'
    )
    zaqar_conf.check_values(zaqar_conf.new_conf(['--config-file', str(path)]))


@pytest.mark.parametrize('database', [':memory:', ''])
def test_sqlite_database_must_be_a_file(database: str) -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override('database', database, group='drivers:message_store:sqlite')
    with pytest.raises(errors.ConfigurationError, match='must be a file path'):
        bootstrap.load_storage(conf)


def _conf_with_driver(
    monkeypatch: pytest.MonkeyPatch, factory: object
) -> cfg.ConfigOpts:
    """A configuration whose message_store entry point resolves to ``factory``."""
    manager = type('Manager', (), {'driver': staticmethod(factory)})
    monkeypatch.setattr(
        storage_loader.stevedore_driver, 'DriverManager', lambda *a, **k: manager()
    )
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override('message_store', 'thirdparty', group='drivers')
    return conf


def test_a_driver_factory_failing_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def factory(conf: cfg.ConfigOpts, clock: object) -> object:
        raise ValueError('bad\nuri')

    conf = _conf_with_driver(monkeypatch, factory)
    with pytest.raises(errors.ConfigurationError) as caught:
        bootstrap.load_storage(conf)
    assert str(caught.value) == (
        "[drivers] message_store = 'thirdparty': the driver failed to start: "
        'ValueError: bad uri'
    )


def test_a_driver_factory_returning_no_driver_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = _conf_with_driver(monkeypatch, lambda conf, clock: None)
    with pytest.raises(errors.ConfigurationError, match='returned NoneType, not a'):
        bootstrap.load_storage(conf)


def test_a_driver_entry_point_naming_no_callable_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = _conf_with_driver(monkeypatch, 42)
    with pytest.raises(errors.ConfigurationError, match='not a factory taking'):
        bootstrap.load_storage(conf)


@pytest.mark.parametrize(
    'bind', ['127.0.0.1', '127.0.0.1:99999', 'nonsense', ':8888', '127.0.0.1:0x']
)
def test_a_bind_without_a_valid_port_is_refused(bind: str) -> None:
    conf = server_cmd.parse_args(['--bind', bind])
    with pytest.raises(zaqar_conf.InvalidOption, match='expected HOST:PORT'):
        server_cmd.gunicorn_options(conf)


@pytest.mark.parametrize(
    'bind', ['0.0.0.0:80', '[::1]:8888', 'localhost:65535', '127.0.0.1:0']
)
def test_valid_binds_pass_through(bind: str) -> None:
    conf = server_cmd.parse_args(['--bind', bind])
    assert server_cmd.gunicorn_options(conf)['bind'] == [bind]
