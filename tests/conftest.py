"""Shared fixtures. Add yours below; keep each one small and named for what it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """tests/data: sample and hostile input files (see tests/data/make_hostile.py)."""
    return DATA


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(name, text, encoding="utf-8") -> Path of a CSV written under tmp_path."""

    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def make_workbook(tmp_path):
    """make_workbook(name, {sheet: [rows]}) -> Path of an .xlsx written with openpyxl."""
    from openpyxl import Workbook

    def make(name: str, sheets: dict[str, list[list]]) -> Path:
        book = Workbook()
        book.remove(book.active)
        for title, rows in sheets.items():
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(row)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        book.save(path)
        return path

    return make
