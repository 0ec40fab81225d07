"""moto without a Docker engine: `/moto-api/data.json` must not fail on Lambda functions.

moto's data dump reads every public attribute of every model; on a Lambda function that includes
`docker_client`, which raises DockerException when there is no engine, and the whole dump answers 500.
Turning that into AttributeError makes the dump skip the attribute, as it does for others.
"""

from __future__ import annotations

from typing import Any

from moto.utilities.docker_utilities import DockerModel

_original = DockerModel.docker_client


def _docker_client(self: DockerModel) -> Any:
    from docker.errors import DockerException

    try:
        return _original.fget(self)  # type: ignore[attr-defined]
    except DockerException as exc:
        raise AttributeError(f"no Docker engine: {exc}") from exc


def install() -> None:
    DockerModel.docker_client = property(_docker_client)  # type: ignore[method-assign,assignment]
