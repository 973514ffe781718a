"""Shared fixtures. Engineers append their fixtures below the marked sections."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests never reach a network and never see the developer's own Citeline/OpenAI settings.
os.environ["HF_HUB_OFFLINE"] = "1"
for _var in [v for v in os.environ if v.startswith("CITELINE_")] + ["OPENAI_API_KEY"]:
    os.environ.pop(_var, None)

from indexer.runtime import configure_offline  # noqa: E402
from indexer.settings import override_settings  # noqa: E402

configure_offline(threads=2)

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seeds"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to 0 and release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS_DIR


@pytest.fixture(autouse=True)
def _reset_settings_override() -> Iterator[None]:
    yield
    override_settings(None)


# ---- fixtures appended by component engineers go below ----
