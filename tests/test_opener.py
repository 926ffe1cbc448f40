"""Opening a result: the physical page, and a file name that only ever travels as one argv item."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.opener import VIEWERS, find_text, launch, open_command
from tests.conftest import SHARED

HOSTILE = [
    'quote"d.pdf',
    "single'quote.pdf",
    "a & b.pdf",
    "$(touch pwned).pdf",
    "$HOME.pdf",
    "back`touch pwned`tick.pdf",
    "new\nline.pdf",
    "-leading-dash.pdf",
    "--page-index=99.pdf",
    '"; do shell script "touch pwned" --.pdf',
    "{page}.pdf",
]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_a_hostile_name_is_one_argument_and_never_script_source(tmp_path: Path, viewer: str, name: str):
    path = str(tmp_path / name)
    command = open_command(path, 6, viewer)
    assert command is not None
    assert command.count(path) == 1, command  # exactly one item is the path, unchanged
    for item in command:
        if item != path:
            assert name not in item, item  # nothing else holds any part of the name
    if viewer == "preview":
        script = [command[i + 1] for i, item in enumerate(command) if item == "-e"]
        assert script[0] == "on run argv" and script[-1] == "end run"
        assert command[-2:] == [path, "6"]


@pytest.mark.parametrize("name", ["-leading-dash.pdf", "--page-index=99.pdf"])
def test_a_relative_path_with_a_leading_dash_is_made_absolute(tmp_path: Path, monkeypatch, name: str):
    monkeypatch.chdir(tmp_path)
    command = open_command(name, 3, "evince")
    assert command == ["evince", "--page-index=3", str(tmp_path / name)]


def test_viewers_open_the_physical_page_of_a_labelled_pdf():
    """B07: physical page 6 is labelled '2'; page 10 is labelled '6'. Every viewer gets 6."""
    pdf = str(SHARED / "data" / "fidelity" / "B07" / "roman_front_matter.pdf")
    assert open_command(pdf, 6, "evince") == ["evince", "--page-index=6", pdf]
    assert open_command(pdf, 6, "okular") == ["okular", "-p", "6", pdf]
    assert open_command(pdf, 6, "zathura") == ["zathura", "-P", "6", pdf]
    assert open_command(pdf, 6, "sumatrapdf") == ["SumatraPDF.exe", "-page", "6", pdf]
    assert open_command(pdf, 6, "preview")[-2:] == [pdf, "6"]
    assert not any("label" in item for viewer in VIEWERS for item in open_command(pdf, 6, viewer))


def test_a_custom_command_gets_the_name_exactly_as_it_is(tmp_path: Path):
    """Run a real custom viewer (a Python script recording its argv) on every hostile name."""
    recorder = tmp_path / "recorder.py"
    recorder.write_text(
        "import json, sys, pathlib\n"
        "pathlib.Path(sys.argv[1]).write_text(json.dumps(sys.argv[2:]))\n"
    )
    for index, name in enumerate(HOSTILE):
        out = tmp_path / f"argv-{index}.json"
        template = f"{sys.executable} {recorder} {out} --goto {{page}} {{path}}"
        path = str(tmp_path / name)
        command = open_command(path, 6, None, custom=template)
        subprocess.run(command, check=True, timeout=30)
        assert json.loads(out.read_text()) == ["--goto", "6", path]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_launch_runs_without_a_shell(tmp_path: Path):
    marker = tmp_path / "marker"
    name = str(tmp_path / "$(touch pwned) `touch pwned2`.pdf")
    script = f"import pathlib, sys; pathlib.Path({str(marker)!r}).write_text(sys.argv[1])"
    launch([sys.executable, "-c", script, name])
    for _ in range(200):
        if marker.exists() and marker.read_text():
            break
        __import__("time").sleep(0.05)
    assert marker.read_text() == name
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("evince", ["evince", "--page-index=7", "--find=boiler pressure", "/d/a b.pdf"]),
        ("okular", ["okular", "-p", "7", "--find=boiler pressure", "/d/a b.pdf"]),
        ("zathura", ["zathura", "-P", "7", "--find=boiler pressure", "/d/a b.pdf"]),
        ("sumatrapdf", ["SumatraPDF.exe", "-page", "7", "-search", "boiler pressure", "/d/a b.pdf"]),
    ],
)
def test_each_viewer_opens_at_the_page_with_the_query_in_its_search(viewer: str, expected: list[str]):
    assert open_command("/d/a b.pdf", 7, viewer, find="boiler pressure") == expected
    assert open_command("/d/a b.pdf", 7, viewer, find="") == [i for i in expected if "boiler" not in i and i != "-search"]


def test_preview_has_no_search_and_opens_at_the_page():
    command = open_command("/d/a b.pdf", 7, "preview", find="boiler pressure")
    assert command == open_command("/d/a b.pdf", 7, "preview")
    assert command[-2:] == ["/d/a b.pdf", "7"] and not any("boiler" in item for item in command)


def test_the_search_text_is_what_the_page_holds():
    passage = "Check the boiler pressure gauge monthly.\nA pressure under 1 bar needs topping up."
    assert find_text("boiler pressure", passage) == "boiler pressure"  # word for word on the page
    assert find_text("what pressure should the boiler have", passage) == "pressure"  # longest word present
    assert find_text("vitamin D", passage) == ""


@pytest.mark.parametrize("viewer", ["evince", "okular", "zathura", "sumatrapdf"])
def test_a_hostile_query_stays_one_argument_and_never_an_option(viewer: str):
    query = "--print-to-default $(touch pwned) {page}\n`id`"
    command = open_command("/d/a.pdf", 3, viewer, find=query)
    assert command is not None and command[-1] == "/d/a.pdf"
    holding = [item for item in command if "pwned" in item]
    assert len(holding) == 1
    assert not holding[0].startswith("--print") and "{page}" in holding[0] and "\n" not in holding[0]
    assert "--print-to-default" not in command
