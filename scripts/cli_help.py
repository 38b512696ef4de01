"""Reads the built dbtool's --help text (CLI11's layout) into commands and their options, so that
the man page (scripts/gen-manpage) and the bash completion (scripts/gen-completion) are made
from the same text the user sees and cannot drift from it."""

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field

# An entry line in a section: two spaces, the names (and type), then the description after a run
# of spaces, or on the following, deeper indented line when the names fill the column.
ENTRY = re.compile(r"^  (\S.*?)(?:\s{2,}(\S.*))?$")
ENV = re.compile(r"\s*\(Env:(\w+)\)")


@dataclass
class Option:
    names: list  # e.g. ["-y", "--yes"]
    value: str  # what CLI11 shows after the names ("TEXT:NOT EMPTY", "=dbtool.ini"); "" for a flag
    env: str  # the environment variable CLI11 reads it from, or ""
    description: str = ""

    @property
    def takes_value(self):
        return self.value != ""


@dataclass
class Command:
    path: list  # [] for dbtool itself, ["schema", "import"] for `dbtool schema import`
    summary: list = field(default_factory=list)  # the lines before "Usage:"
    usage: str = ""
    positionals: list = field(default_factory=list)  # Option, with names [NAME]
    options: list = field(default_factory=list)
    subcommands: list = field(default_factory=list)  # Command
    footer: list = field(default_factory=list)  # the lines after the last section

    @property
    def name(self):
        return " ".join(["dbtool"] + self.path)


def help_text(dbtool, path):
    """`dbtool PATH... --help`, run in an empty folder with a minimal environment so that no
    dbtool.ini, .env or DBTOOL_* variable of the caller leaks into the text."""
    dbtool = os.path.abspath(dbtool)
    with tempfile.TemporaryDirectory() as cwd:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
        run = subprocess.run([dbtool, *path, "--help"], cwd=cwd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{dbtool} {' '.join(path)} --help failed ({run.returncode}): {run.stderr}")
    return run.stdout


def parse_entry(line):
    m = ENTRY.match(line)
    left, description = m.group(1), m.group(2) or ""
    env = ""
    e = ENV.search(left)
    if e:
        env = e.group(1)
        left = ENV.sub("", left)
    names, _, rest = left.partition(" ")
    value = rest.strip()
    if "=" in names:  # --config=dbtool.ini: a default shown without a type
        names, default = names.split("=", 1)
        value = "=" + default
    return Option(names.split(","), value, env, description)


def parse(text, path):
    """One command's --help text; subcommands are listed by name only (see load)."""
    cmd = Command(path)
    lines = text.rstrip("\n").split("\n")
    i = 0
    while not lines[i].startswith("Usage: "):
        cmd.summary.append(lines[i])
        i += 1
    cmd.usage = lines[i][len("Usage: "):]
    i += 1
    sections = {"Positionals:": cmd.positionals, "Options:": cmd.options, "Subcommands:": cmd.subcommands}
    current = None
    while i < len(lines):
        line = lines[i]
        if line in sections:
            current = sections[line]
        elif line == "":
            current = None
            # The footer follows the blank line after the last section.
            if i + 1 < len(lines) and lines[i + 1] not in sections:
                cmd.footer = lines[i + 1:]
                break
        elif current is not None and line.startswith("   "):
            current[-1].description = (current[-1].description + " " + line.strip()).strip()
        elif current is not None and line.startswith("  "):
            entry = parse_entry(line)
            if current is cmd.subcommands:
                current.append(Command(path + entry.names, summary=[entry.description]))
            else:
                current.append(entry)
        i += 1
    return cmd


def load(dbtool, path=None):
    """dbtool's whole command tree, each command read from its own --help."""
    path = path or []
    cmd = parse(help_text(dbtool, path), path)
    cmd.subcommands = [load(dbtool, sub.path) for sub in cmd.subcommands]
    return cmd


def walk(cmd):
    yield cmd
    for sub in cmd.subcommands:
        yield from walk(sub)
