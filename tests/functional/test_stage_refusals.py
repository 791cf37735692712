"""A stage's refusal as clients see it, through the real app and pipeline."""

from __future__ import annotations

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar import pipeline
from zaqar.pipeline.pipeline import Pipeline
from zaqar.pipeline.pipeline import Pipelines
from zaqar.pipeline.pipeline import StageHooks
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import Metadata
from zaqar.transport.wsgi.app import create_app

from .helpers import headers


class QueueQuota:
    """Allows at most ``limit`` queues per project."""

    def __init__(self, storage: DataDriver, limit: int) -> None:
        self._storage = storage
        self._limit = limit

    def create(self, *, name: str, metadata: Metadata, project: str) -> None:
        if self._storage.queues.count(project) >= self._limit:
            raise errors.OperationRefused(
                f'Quota of {self._limit} queues reached; delete a queue first.'
            )


@pytest.fixture
def client(conf: cfg.ConfigOpts, storage: DataDriver) -> falcon.testing.TestClient:
    quota = QueueQuota(storage, limit=1)
    stages = Pipelines(
        queue=Pipeline('queue', [StageHooks('quota', {'create': quota.create})])
    )
    app = create_app(conf, storage=pipeline.wrap(storage, stages))
    return falcon.testing.TestClient(app, headers=headers())


def test_a_refusing_stage_answers_403_with_its_message(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_put('/v2/queues/first').status_code == 201
    refused = client.simulate_put('/v2/queues/second')
    assert refused.status_code == 403
    assert refused.json == {
        'title': 'Not authorized',
        'description': 'Quota of 1 queues reached; delete a queue first.',
    }
    assert client.simulate_head('/v2/queues/second').status_code == 404
