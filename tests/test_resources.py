"""The data folders are found inside an installed package and in a checkout."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from monitor.resources import DATA_DIRS, PACKAGED, MissingResource, data_dir, locate
from tests.cli_helpers import REPO

MARKERS = {"migrations": "env.py", "templates": "login.html", "static": "console.css"}


def test_each_data_folder_is_found_with_its_files() -> None:
    for name in DATA_DIRS:
        found = data_dir(name)
        assert (found / MARKERS[name]).is_file(), found


def test_the_installed_copy_wins_over_a_folder_beside_the_package(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "monitor"
    (package / PACKAGED / "migrations").mkdir(parents=True)
    (tmp_path / "site-packages" / "migrations").mkdir()  # another distribution's folder
    assert locate("migrations", package) == package / PACKAGED / "migrations"


def test_a_checkout_finds_the_top_level_folder(tmp_path: Path) -> None:
    package = tmp_path / "checkout" / "monitor"
    package.mkdir(parents=True)
    (tmp_path / "checkout" / "templates").mkdir()
    assert locate("templates", package) == tmp_path / "checkout" / "templates"


def test_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "monitor").mkdir()
    with pytest.raises(MissingResource, match=r"static/ is missing.*reinstall"):
        locate("static", tmp_path / "monitor")


def test_the_wheel_and_sdist_ship_every_data_folder() -> None:
    """pyproject puts each folder where :func:`locate` looks (the build itself: .ci/)."""
    hatch = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    wheel = hatch["targets"]["wheel"]["force-include"]
    assert wheel == {name: f"monitor/{PACKAGED}/{name}" for name in DATA_DIRS}
    sdist = hatch["targets"]["sdist"]["include"]
    for name in DATA_DIRS:
        assert f"/{name}" in sdist
        assert (REPO / name / MARKERS[name]).is_file()
