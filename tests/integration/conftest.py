"""Fixtures for lamina's integration tests: the built binaries, found through
LAMINA_BUILD_DIR (scripts/test sets it; default: build/ in the source tree)."""
import os
import pathlib
import subprocess

import pytest

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
BUILD_DIR = pathlib.Path(os.environ.get("LAMINA_BUILD_DIR", SOURCE_DIR / "build"))


@pytest.fixture(scope="session")
def lamina_path():
    path = BUILD_DIR / "lamina"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run scripts/test, or set LAMINA_BUILD_DIR")
    return path


@pytest.fixture
def lamina(lamina_path):
    """Runs lamina with the given arguments; returns the CompletedProcess (text mode)."""

    def run(*args, cwd=None, env=None, input=None):
        return subprocess.run([str(lamina_path), *map(str, args)], cwd=cwd, env=env,
                              input=input, capture_output=True, text=True, timeout=60)

    return run
