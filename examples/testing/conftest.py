"""Build the shop's image (offline, seconds when cached) and run it wherever the manifests name
the production image: the manifests stay exactly as deployed."""

from pathlib import Path

import docker
import pytest

HERE = Path(__file__).parent
PRODUCTION_IMAGE = "registry.example.com/shop/app:1.0"
CI_IMAGE = "shop/app:ci"


@pytest.fixture(scope="session")
def emukube_images():
    docker.from_env().images.build(path=str(HERE / "app"), tag=CI_IMAGE, pull=False, rm=True)
    return {PRODUCTION_IMAGE: CI_IMAGE}
