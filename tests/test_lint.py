"""ruff over the whole tree (configured in pyproject.toml), so CI guards it too."""
import subprocess
import sys
from pathlib import Path


def test_ruff_is_clean() -> None:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
