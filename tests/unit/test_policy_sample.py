"""The policy sample and the rules' entry point."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from oslo_policy import generator

from zaqar.transport import policy

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_policy_sample_is_current(tmp_path: Path) -> None:
    """Fails when a rule changed without running tools/gen-policy-sample."""
    output = tmp_path / 'policy.yaml.sample'
    generator.generate_sample(
        [
            '--config-file',
            str(ROOT / 'etc' / 'oslo-policy-generator' / 'zaqar.conf'),
            '--output-file',
            str(output),
        ]
    )
    checked_in = (ROOT / 'etc' / 'policy.yaml.sample').read_text()
    assert output.read_text() == checked_in, 'run tools/gen-policy-sample'


def test_the_rules_are_published_under_the_zaqar_namespace() -> None:
    [entry_point] = importlib.metadata.entry_points(
        group='oslo.policy.policies', name='zaqar'
    )
    assert list(entry_point.load()()) == list(policy.RULES)


def test_upstream_defaults_are_kept() -> None:
    defaults = {rule.name: rule.check_str for rule in policy.RULES}
    assert defaults['context_is_admin'] == 'role:admin'
    assert defaults['admin_or_owner'] == 'is_admin:True or project_id:%(project_id)s'
    admin_only = {name for name, check in defaults.items() if check == 'role:admin'}
    assert admin_only == {
        'context_is_admin',
        'health:get',
        'flavors:create',
        'flavors:delete',
        'flavors:update',
        'pools:get_all',
        'pools:create',
        'pools:get',
        'pools:delete',
        'pools:update',
    }
    # Upstream 23.0 has 44 rules; names are unique.
    assert len(defaults) == len(policy.RULES) == 44
