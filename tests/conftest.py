from __future__ import annotations

from collections.abc import Iterator

import pytest

from cdpctl.sandbox.server import Faults, SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A real sandbox HTTP server on 127.0.0.1 (random port), rate limits off by default."""
    server = SandboxServer(0, faults=Faults(rate_limits=False))
    server.start_background()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
