"""``./dev setup`` tells the user what it is doing (issue 11 point 12), run for real with stand-ins for the slow
parts: Python 3.11 whose ``venv`` first fails (so Debian's python3.11-venv is installed), pip, pybabel and apt-get
that only print what the real ones print. The real first run is measured by hand (the figure is in ./dev)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PYTHON = """#!/bin/bash
case "$1" in
  -c) exit 0 ;;  # find_python: "is this 3.11?"
  -m)  # -m venv DIR: fails the first time, as on a Debian without python3.11-venv
    if [ ! -f "$FAKE/venv-tried" ]; then touch "$FAKE/venv-tried"; exit 1; fi
    mkdir -p "$3/bin"
    for tool in python pip pybabel; do cp "$FAKE/tool" "$3/bin/$tool"; done ;;
esac
"""

TOOL = """#!/bin/bash
echo "$(basename "$0") $*" >> "$FAKE/calls"
if [ "$(basename "$0")" = pip ]; then
  echo "Collecting flask<4,>=3.0 (from motcua-tainha==0.1.0)"
  echo "Installing collected packages: flask"
  echo "Successfully installed flask-3.1.3"
fi
"""

# "update" fails so that the stand-in never leaves the real "lists updated" mark in /tmp.
APT_GET = """#!/bin/bash
echo "apt-get $*" >> "$FAKE/calls"
[ "$1" = update ] && exit 1
echo "Reading package lists..."
echo "Get:1 http://deb.debian.org/debian bookworm/main amd64 python3.11-venv amd64 3.11.2-6 [5,896 B]"
echo "Unpacking python3.11-venv (3.11.2-6+deb12u6) ..."
echo "Setting up python3.11-venv (3.11.2-6+deb12u6) ..."
"""


def _stand_ins(folder: Path) -> None:
    for name, text in {"python3.11": PYTHON, "tool": TOOL, "apt-get": APT_GET, "id": "#!/bin/bash\necho 0\n"}.items():
        path = folder / name
        path.write_text(text)
        path.chmod(0o755)


def _setup(tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, FAKE=str(tmp_path), VENV=str(tmp_path / "venv"), PATH=f"{tmp_path}:{os.environ['PATH']}")
    return subprocess.run([str(ROOT / "dev"), "setup"], env=env, capture_output=True, text=True, timeout=60)


def test_setup_says_how_long_it_takes_and_shows_each_step(tmp_path):
    _stand_ins(tmp_path)
    first = _setup(tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    # Debian's package, with what it costs, and one line per package set up (not apt's three or more, not nothing).
    assert "Installing python3.11-venv from Debian (a few seconds; one line per package)" in out
    assert "    Setting up python3.11-venv (3.11.2-6+deb12u6) ..." in out
    assert "Unpacking" not in out and "Reading package lists" not in out
    # pip: how long it takes, then pip's own lines, without progress bars (CI's log stays readable).
    assert "The first time this takes 1 to 3 minutes" in out
    assert "Collecting flask<4,>=3.0" in out and "Successfully installed flask-3.1.3" in out
    [pip] = [line for line in (tmp_path / "calls").read_text().splitlines() if line.startswith("pip ")]
    assert "--progress-bar off" in pip and " -q" not in pip
    assert (tmp_path / "venv" / ".installed").exists()

    again = _setup(tmp_path)  # set up already: nothing to wait for, nothing said about it
    assert again.returncode == 0, again.stderr
    assert "Installing Python packages" not in again.stdout and "minutes" not in again.stdout
