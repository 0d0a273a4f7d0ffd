"""The demo's data folder: every run starts from nothing, and a folder it did not make is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import DEMO_MARKER, DemoFolderError, fresh_demo_folder


def test_a_new_folder_is_made_and_marked(tmp_path: Path) -> None:
    folder = tmp_path / "out" / "demo"
    fresh_demo_folder(folder)
    assert [p.name for p in folder.iterdir()] == [DEMO_MARKER]


def test_an_earlier_demos_folder_is_emptied(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    fresh_demo_folder(folder)
    (folder / "redis").mkdir()
    (folder / "redis" / "appendonly.aof").write_text("the last run's router snapshot")
    fresh_demo_folder(folder)
    assert [p.name for p in folder.iterdir()] == [DEMO_MARKER]


def test_a_folder_with_other_data_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "precious.db").write_text("not the demo's")
    with pytest.raises(DemoFolderError, match="not made by an earlier demo"):
        fresh_demo_folder(tmp_path)
    assert (tmp_path / "precious.db").read_text() == "not the demo's"
    assert not (tmp_path / DEMO_MARKER).exists()


def test_an_empty_existing_folder_is_used(tmp_path: Path) -> None:
    fresh_demo_folder(tmp_path)
    assert (tmp_path / DEMO_MARKER).is_file()
