"""Shared fixtures: services on 127.0.0.1 (a free port each, always stopped), a runner for
async test bodies with a time limit, and a SyntheticModel factory."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from types import ModuleType
from typing import Any, TypeVar

import pytest
import uvicorn
from challenge_04_inference_serving.records import ServiceSettings
from challenge_04_inference_serving.synthetic import SyntheticModel
from fastapi import FastAPI

T = TypeVar("T")
LIMIT_S = 20.0  # no async test body may run longer: a hung batcher fails, never hangs


def run(coro: Coroutine[Any, Any, T], limit_s: float = LIMIT_S) -> T:
    """Run an async test body on a fresh event loop, failing it after ``limit_s``."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, limit_s)

    return asyncio.run(bounded())


class ServerThread:
    """uvicorn serving ``app`` in a thread on 127.0.0.1, on a socket bound before it starts
    (no port race). ``stop()`` asks it to exit and joins it."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


ServeFn = Callable[..., ServerThread]
Runner = Callable[..., Any]  # run(coro, limit_s=LIMIT_S) -> the coroutine's value


@pytest.fixture
def arun() -> Runner:
    """``arun(coro)``: run an async test body on a fresh loop, failing it after 20 s."""
    return run


@pytest.fixture
def serve_app(impl: ModuleType) -> Iterator[ServeFn]:
    """``serve_app(model_fn, **settings)`` starts ``impl.create_app`` on a free port."""
    servers: list[ServerThread] = []

    def start(model_fn: Callable[[list[str]], Any], **settings: Any) -> ServerThread:
        app = impl.create_app(model_fn, ServiceSettings(**settings))
        server = ServerThread(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


@pytest.fixture
def synthetic() -> Callable[..., SyntheticModel]:
    return SyntheticModel
