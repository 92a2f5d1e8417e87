"""What the data commands print for people: ``runs`` as a table with a header row, the load
summary's reject reasons without silently dropped codes."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator

import click
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from etl.cli import cli_group
from etl.report import LoadReport
from etl.settings import PROJECT_ROOT
from tests.support import TEST_DATA, clean_env, query_rows


def _cli(engine: Engine, *args: str) -> Result:
    env = {"BORDERWATCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return CliRunner().invoke(cli_group, list(args), env=env, catch_exceptions=False)


def test_runs_prints_a_header_row_over_aligned_columns(geo_engine: Engine) -> None:
    assert _cli(geo_engine, "load", "incidents", str(TEST_DATA / "incidents_bad.csv"),
                "--source", "feed").exit_code == 0
    assert _cli(geo_engine, "analyse", "rollup").exit_code == 0
    lines = _cli(geo_engine, "runs").stdout.splitlines()
    header = lines[0].split()
    assert header[:6] == ["run", "started", "(UTC)", "kind", "status", "source"]
    assert header[6:] == ["file", "read", "inserted", "updated", "unchanged", "rejected",
                          "message"]
    rows = lines[1:]
    assert [r.split()[3] for r in rows] == ["rollup", "incidents", "geodata"]  # newest first
    load = rows[1]
    for column, value in (("kind", "incidents"), ("source", "feed"),
                          ("file", "incidents_bad.csv")):
        assert load.index(value) == lines[0].index(column), (column, lines[0], load)
    # counts sit right-aligned under their heading
    (rejected,) = query_rows(geo_engine, "SELECT rows_rejected FROM load_run "
                                         "WHERE kind = 'incidents'")[0]
    assert rejected > 0
    assert load[:lines[0].index("rejected") + len("rejected")].split()[-1] == f"{rejected:,}"


def test_runs_with_none_says_so(engine: Engine) -> None:
    assert _cli(engine, "runs").stdout == "no run yet\n"


def test_load_summary_says_how_many_reject_codes_it_leaves_out() -> None:
    report = LoadReport(kind="incidents", source="feed", file_name="f.csv", run_id=7,
                        read=120, rejected=120, status="succeeded",
                        reject_codes={f"code_{i:02d}": 100 - i for i in range(15)})
    lines = report.summary().splitlines()
    line = next(x for x in lines if "reject reasons:" in x)
    assert line.count("×") == 8 and "code_00 ×100" in line  # the most frequent first
    assert line.endswith("code_07 ×93, and 7 more")
    assert lines[-1] == "  see them with: borderwatch rejects --run 7"
    report.reject_codes = {"a": 2, "b": 1}
    assert report.summary().splitlines()[2] == "  reject reasons: a ×2, b ×1"


def _help_texts(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    with click.Context(command, info_name=" ".join(("borderwatch", *path))) as ctx:
        yield " ".join(path), command.get_help(ctx)
        if isinstance(command, click.Group):  # every command, also those loaded lazily
            subs = [(name, command.get_command(ctx, name)) for name in command.list_commands(ctx)]
    if isinstance(command, click.Group):
        for name, sub in subs:
            assert sub is not None, name
            yield from _help_texts(sub, (*path, name))


def test_help_texts_use_a_and_an_right() -> None:
    """'Load a incidents FILE' was the help of a load command: no 'a' before a vowel (words
    with u are left alone: 'a user', 'an update')."""
    import dashboard.cli  # noqa: F401  (the composition root adds serve and, lazily, briefing)

    texts = list(_help_texts(cli_group))
    assert {"briefing", "serve", "load incidents", "users add"} <= {path for path, _ in texts}
    wrong = [(path, m.group(0)) for path, text in texts
             for m in re.finditer(r"\b[Aa] [aeioAEIO]\w*", text)]
    assert wrong == []


def _in_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run ``args`` with a pseudo-terminal (120 columns) as stdin, stdout and stderr: what a
    person at a terminal sees, as raw text (bars redraw with \\r)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    proc.wait(timeout=300)
    return out.decode("utf-8", "replace")


def test_a_log_line_never_shares_a_line_with_the_progress_bar(geo_engine: Engine) -> None:
    env = clean_env(BORDERWATCH_DATABASE_URL=geo_engine.url.render_as_string(hide_password=False),
                    BORDERWATCH_LOG_LEVEL="INFO")
    screen = _in_a_terminal([sys.executable, "-m", "dashboard.cli", "load", "incidents",
                             str(TEST_DATA / "incidents_good.csv")], env)
    assert "%|" in screen, screen  # a bar was drawn
    logged = list(re.finditer(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO ", screen))
    assert logged, screen  # the rollup refresh is logged while the bar is up
    for m in logged:
        assert screen[m.start() - 1] in "\r\n", repr(screen[max(0, m.start() - 80):m.end()])


def test_every_progress_bar_is_a_terminal_bar() -> None:
    """The bars of load, demo load and briefing all keep log lines off their line."""
    made_here = [f"{path.relative_to(PROJECT_ROOT)}:{n}"
                 for folder in ("etl", "dashboard") for path in (PROJECT_ROOT / folder).rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\btqdm\(", line)]
    assert made_here == []  # a bar is a TerminalBar(...) (etl/cli/common.py)
