"""Unsafe files are refused before parsing: exit 1, one line naming the file (SPEC §6)."""

from __future__ import annotations

import shutil

import pytest

from userbatch.errors import UnsafeFileError
from userbatch.io import read_inputs, read_sheets


def refused(path, **options) -> str:
    with pytest.raises(UnsafeFileError) as caught:
        read_inputs([str(path)], **options)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert caught.value.exit_code == 1
    return message


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("binary_garbage.csv", "binary"),
        ("empty.csv", "empty"),
        ("empty.xlsx", "empty"),
        ("whitespace_only.csv", "empty"),
        ("zip_bomb.xlsx", "zip bomb"),
        ("corrupt.xlsx", "not a valid .xlsx"),
        ("encrypted.xlsx", "encrypted"),
        ("not_a_zip.xlsx", "not a zip"),
    ],
)
def test_hostile_file_is_refused_with_one_line_naming_it(data_dir, name, says):
    assert says in refused(data_dir / "hostile" / name)


def test_file_over_max_bytes_is_refused(data_dir):
    assert "limit" in refused(data_dir / "users_utf8_bom.csv", max_bytes=100)


def test_missing_path_is_refused_as_no_such_file(tmp_path):
    assert "no such file" in refused(tmp_path / "nowhere.csv")


def test_workbook_whose_parts_are_broken_is_refused_as_corrupt(data_dir, tmp_path):
    # A valid zip directory but a truncated sheet: calamine fails, we say "corrupt".
    import zipfile

    good = tmp_path / "good.xlsx"
    from openpyxl import Workbook

    Workbook().save(good)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[: len(data) // 3] if "worksheets" in item.filename else data)
    assert "corrupt" in refused(broken)


def test_nul_bytes_in_a_text_csv_are_refused(write_csv):
    path = write_csv("users.csv", "user_principal_name\r\na@contoso.com\0\r\n")
    assert "NUL" in refused(path)


def test_folder_without_tables_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert "no .csv" in refused(tmp_path)


def test_excel_lock_files_in_a_folder_are_not_read(data_dir, tmp_path):
    shutil.copy(data_dir / "users_utf8_bom.csv", tmp_path / "users.csv")
    (tmp_path / "~$users.xlsx").write_bytes(b"\x00lock")
    read = read_inputs([tmp_path])
    assert len(read.frames["users"]) == 3


def test_read_sheets_applies_the_same_guards(data_dir):
    with pytest.raises(UnsafeFileError, match="encrypted"):
        read_sheets(data_dir / "hostile" / "encrypted.xlsx")
