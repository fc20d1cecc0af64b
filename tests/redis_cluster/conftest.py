"""Fixtures: a real three-master Redis Cluster and a throwaway single Redis (see ``servers``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_cluster.servers import OwnCluster, OwnRedis, started_cluster, started_redis


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnCluster]:
    """One cluster for the session's tests that do not stop its nodes (namespace your keys)."""
    yield from started_cluster(tmp_path_factory.mktemp("redis-cluster"))


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[OwnCluster]:
    """A cluster of the test's own, to stop and restart masters in."""
    yield from started_cluster(tmp_path / "cluster")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A single redis-server of the test's own, to stop and restart."""
    yield from started_redis(tmp_path / "redis")
