"""Projects share a server but never see or touch each other's data."""

from __future__ import annotations

import requests

from tests.server.conftest import Server


def test_one_project_cannot_read_claim_or_delete_anothers_messages(
    server: Server,
) -> None:
    owner = server.headers('tenant-owner')
    intruder = server.headers('tenant-intruder')
    base = f'{server.url}/v2/queues/shared-name'

    posted = requests.post(
        f'{base}/messages',
        json={'messages': [{'body': 'secret', 'ttl': 300}]},
        headers=owner,
        timeout=10,
    )
    assert posted.status_code == 201
    href = posted.json()['resources'][0]

    # The same queue name in another project is another, empty queue.
    listing = requests.get(
        f'{base}/messages?echo=true', headers=intruder, timeout=10
    ).json()
    assert listing == {'messages': [], 'links': []}
    assert (
        requests.get(server.url + href, headers=intruder, timeout=10).status_code == 404
    )
    claim = requests.post(f'{base}/claims', json={}, headers=intruder, timeout=10)
    assert claim.status_code == 204
    stats = requests.get(f'{base}/stats', headers=intruder, timeout=10).json()
    assert stats['messages']['total'] == 0
    queues = requests.get(f'{server.url}/v2/queues', headers=intruder, timeout=10)
    assert 'shared-name' not in [q['name'] for q in queues.json()['queues']]

    # Deleting "its" queue or the message id leaves the owner's data alone.
    assert (
        requests.delete(server.url + href, headers=intruder, timeout=10).status_code
        == 204
    )
    assert requests.delete(base, headers=intruder, timeout=10).status_code == 204
    kept = requests.get(server.url + href, headers=owner, timeout=10)
    assert kept.status_code == 200
    assert kept.json()['body'] == 'secret'
