"""Shared fixtures: the real logs in ../shared/data, and the local PostgreSQL server."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LASTMILE_SHARED_DATA", ROOT.parent / "shared" / "data"))
PG_URL = os.environ.get("LASTMILE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def load_script(name: str, path: Path) -> ModuleType:
    """Import a script that is not part of the package (a bench, a fixtures file) by path.

    It is registered in ``sys.modules`` under ``name`` first, so that its dataclasses and
    pickling find it.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public logs; skips the test with a clear message when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real logs not found at {SHARED_DATA} (a user's clone has no ../shared)")
    return SHARED_DATA


def shared_file(relative: str) -> Path:
    """Path of one real log under ../shared/data, or skip when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real log {relative} not found under {SHARED_DATA}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the local PostgreSQL test database; skips if the server does not answer."""
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            pass
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    return PG_URL


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium for browser tests; skips (outside CI) when it is not installed."""
    path = "/usr/bin/chromium"
    if not Path(path).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail("CI needs /usr/bin/chromium (scripts/ensure-services.sh installs it)")
        pytest.skip("no /usr/bin/chromium: browser tests skipped")
    return path
