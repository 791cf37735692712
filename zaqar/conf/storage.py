"""Options of ``[storage]``: the pipeline stages in front of the driver."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'storage'


def _pipeline_opt(resource: str) -> cfg.ListOpt:
    return cfg.ListOpt(
        f'{resource}_pipeline',
        default=[],
        help=f'Stages run, in this order, before the storage driver on every '
        f'{resource} operation: names of entry points in the '
        f'zaqar.storage.stages group.',
    )


ALL_OPTS = [
    _pipeline_opt(resource)
    for resource in ('queue', 'message', 'claim', 'subscription')
]
