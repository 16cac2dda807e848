"""A real browser against the production server.

Debian's ``chromium`` driven by Playwright for Python (``executable_path``;
Playwright never downloads a browser of its own). A missing browser is a failure, not a skip:
the README's test command installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`calc serve` (gunicorn) on a free loopback port, stopped after the session.

    The same harness as the server tests (tests/served.py): one way to start it.
    """
    from tests.served import LOOPBACK, serve

    with serve(tmp_path_factory.mktemp("e2e-server"), threads=4) as server:
        yield f"http://{LOOPBACK}:{server.port}"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not on PATH: run the README's test command.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})  # type: ignore[attr-defined]
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where PDFs and screenshots go: docs/ when CALC_SCREENSHOTS=1, else a temp dir."""
    if os.environ.get("CALC_SCREENSHOTS") == "1":
        out = Path(__file__).resolve().parents[2] / "docs"
        out.mkdir(exist_ok=True)
        return out
    return tmp_path_factory.mktemp("e2e")
