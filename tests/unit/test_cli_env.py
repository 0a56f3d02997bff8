"""The variable mechanism is generic: a flag added later (another stream's) gets its variable for free."""

from __future__ import annotations

import argparse

import pytest

from cloudtasks_emu.cli import apply_env, port


def parser_with_new_flags() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t")
    parser.add_argument("--data-dir", default="", help="where tasks live")
    parser.add_argument("--allow-origin", action="append", help="repeatable, no default list")
    parser.add_argument("--port", type=port, default=8123)
    parser.add_argument("--strict", action="store_true")
    return parser


def test_new_flags_read_their_variables() -> None:
    parser = parser_with_new_flags()
    lists = apply_env(
        parser,
        {
            "CLOUDTASKS_EMU_DATA_DIR": "/data",
            "CLOUDTASKS_EMU_ALLOW_ORIGIN": "http://a.test, http://b.test",
            "CLOUDTASKS_EMU_PORT": "9000",
            "CLOUDTASKS_EMU_STRICT": "yes",
        },
    )
    args = parser.parse_args([])
    assert (args.data_dir, args.port, args.strict) == ("/data", 9000, True)
    assert lists == {"allow_origin": ["http://a.test", "http://b.test"]}
    assert "[env CLOUDTASKS_EMU_DATA_DIR]" in parser.format_help()


def test_command_line_beats_the_variable() -> None:
    parser = parser_with_new_flags()
    apply_env(parser, {"CLOUDTASKS_EMU_DATA_DIR": "/data", "CLOUDTASKS_EMU_PORT": "9000"})
    args = parser.parse_args(["--data-dir", "/elsewhere", "--port", "1"])
    assert (args.data_dir, args.port) == ("/elsewhere", 1)


def test_bad_variable_names_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        apply_env(parser_with_new_flags(), {"CLOUDTASKS_EMU_PORT": "65536"})
    assert "CLOUDTASKS_EMU_PORT='65536': port 65536 is outside 0..65535" in capsys.readouterr().err
