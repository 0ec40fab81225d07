"""moto in server mode, with the local cloud's CloudFormation additions loaded first."""

from __future__ import annotations

import socket

from moto.server import ThreadedMotoServer

from localcloud import cfn, no_docker

HOST = "127.0.0.1"
PORT = 4566  # LocalStack's port, so AWS_ENDPOINT_URL / localstack-client defaults work


class PortInUse(RuntimeError):
    pass


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Emulator:
    """The moto server; `endpoint` is what AWS_ENDPOINT_URL points at."""

    def __init__(self, host: str = HOST, port: int = PORT) -> None:
        if not port_free(host, port):
            raise PortInUse(
                f"{host}:{port} is already in use: is another local cloud running? (stop it first)"
            )
        cfn.install()  # before the first request: moto caches its CloudFormation model map on first use
        no_docker.install()
        self.host, self.port = host, port
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
