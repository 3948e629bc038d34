"""Where the product's data folders are: ``migrations/``, ``templates/``, ``static/``.

The repository keeps them at its top level. The wheel carries them inside the package,
as ``monitor/_data/<name>`` (pyproject's ``force-include``), so an installed
complaint-monitor finds them as importable resources wherever it was installed; a
checkout (the editable install of ``make install``) finds them beside ``monitor/``.
Nothing is looked up at import time.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final, Literal

DataDir = Literal["migrations", "templates", "static"]
DATA_DIRS: Final[tuple[DataDir, ...]] = ("migrations", "templates", "static")
PACKAGED = "_data"  # the folder inside the package that the wheel puts them in


class MissingResource(Exception):
    """A data folder is in neither place: a broken install or checkout."""


def locate(name: DataDir, package_dir: Path) -> Path:
    """``name`` under the installed package, else beside it in a checkout."""
    for candidate in (package_dir / PACKAGED / name, package_dir.parent / name):
        if candidate.is_dir():
            return candidate
    raise MissingResource(
        f"{name}/ is missing: looked in {package_dir / PACKAGED} and {package_dir.parent} "
        "(reinstall complaint-monitor)"
    )


def data_dir(name: DataDir) -> Path:
    """The real directory of one data folder (Alembic, Jinja2 and StaticFiles need paths)."""
    package = files("monitor")
    if not isinstance(package, Path):  # e.g. imported from a zip file
        raise MissingResource(f"monitor is not installed as files on disk ({package})")
    return locate(name, package)
