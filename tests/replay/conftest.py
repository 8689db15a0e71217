"""pytest fixtures for the replay tests (helpers live in replaylib.py).
Tests skip, with the reason, when ulvsd has not been built."""
import pytest

from replaylib import ULVSD, Replayer


@pytest.fixture
def ulvsd():
    if not ULVSD.exists():
        pytest.skip(f"{ULVSD} not built (run `make` first)")
    return ULVSD


@pytest.fixture
def replay(ulvsd, tmp_path):
    return Replayer(tmp_path)
