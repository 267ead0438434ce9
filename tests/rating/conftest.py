"""Fixtures for the annual rating tests: the small world and a unit built to be rated."""

from __future__ import annotations

import pytest

from models.store import Store
from tests.rating.support import RatingUnit, build_rating_unit
from tests.support.world import World, build_world


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


@pytest.fixture
def rated(store: Store, world: World) -> RatingUnit:
    return build_rating_unit(store, world)
