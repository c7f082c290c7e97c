"""Every shell block of README.md and docs/*.md runs as written, on a copy of the checkout.

A block is a fenced ```sh (or bash) block. The blocks of one file run in order in one
temporary copy of the repository's tracked files (so a block may read what an earlier one
wrote), with this environment's bin folder first on PATH (python, asv), `bulksim`
running the copy's code, and .venv pointing at this environment, as after `make setup`.

Markers, an HTML comment on the line just above the fence (invisible when rendered):

    <!-- docs-test: skip: REASON -->           the block is not run (REASON is required)
    <!-- docs-test: replace OLD => NEW -->     run the block with OLD replaced by NEW
                                               (e.g. fewer calls); may be repeated

Each skip is listed in docs/performance-history.md ("Commands in the docs") with its reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(sh|bash|shell)\s*\n(.*?)^```\s*$", re.M | re.S)
_MARK = re.compile(r"<!--\s*docs-test:\s*(.*?)\s*-->")


def blocks(path: Path) -> list[dict]:
    text = path.read_text()
    out = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").split("\n")
        marks = []
        while before and _MARK.fullmatch(before[-1].strip()):
            marks.insert(0, _MARK.fullmatch(before[-1].strip()).group(1))
            before.pop()
        block = {"line": line, "code": m.group(2), "skip": None, "replace": []}
        for mark in marks:
            if mark.startswith("skip:") and mark[5:].strip():
                block["skip"] = mark[5:].strip()
            elif mark.startswith("replace ") and " => " in mark:
                old, new = mark[len("replace "):].split(" => ", 1)
                block["replace"].append((old, new))
            else:
                raise AssertionError(f"{path.name}:{line}: bad docs-test marker {mark!r}")
        out.append(block)
    return out


def test_markers_parse_and_replacements_apply():
    found = 0
    for path in DOCS:
        for b in blocks(path):
            for old, _ in b["replace"]:
                assert old in b["code"], f"{path.name}:{b['line']}: {old!r} is not in the block"
            found += 1
    assert found >= 10


def _copy_checkout(dest: Path) -> None:
    """A clone of the repository with the working tree's tracked files laid over it."""
    def git(*args, cwd=dest):
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True).stdout

    git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest), cwd=None)
    branches = git("branch", "--format=%(refname:short)").decode().split()
    remotes = git("branch", "-r", "--format=%(refname:short)").decode().split()
    if "main" not in branches and "origin/main" in remotes:
        git("branch", "main", "origin/main")   # asv.conf.json follows main, as in a clone of main
    files = git("ls-files", "-z", cwd=ROOT)
    for name in files.decode().split("\0"):
        if not name or not (ROOT / name).is_file():
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)


@pytest.mark.parametrize("doc", [p.relative_to(ROOT).as_posix() for p in DOCS])
def test_shell_blocks_run_as_written(doc, tmp_path):
    todo = [b for b in blocks(ROOT / doc) if not b["skip"]]
    if not todo:
        # a file whose every block is skipped still has its markers checked above
        assert all(b["skip"] for b in blocks(ROOT / doc))
        return
    work = tmp_path / "clone"
    _copy_checkout(work)
    (work / ".venv").symlink_to(sys.prefix)
    home = tmp_path / "home"
    home.mkdir()
    # `bulksim` runs this checkout's code (not whatever version is installed in the
    # environment); from ROOT, not the copy, so the compiled kernels' cache is reused
    # (Numba keys its cache by the source file's path).  -P: the working directory (the
    # copy) is not put first on sys.path, so PYTHONPATH's ROOT is what `-m engine` finds.
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "bulksim").write_text(f'#!/bin/sh\nexec "{sys.executable}" -P -m engine "$@"\n')
    (shim / "bulksim").chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(shim), os.path.dirname(sys.executable), env.get("PATH", "")])
    env["PYTHONPATH"] = str(ROOT)
    env["HOME"] = str(home)
    env.pop("VIRTUAL_ENV", None)
    for b in todo:
        code = b["code"]
        for old, new in b["replace"]:
            code = code.replace(old, new)
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, (f"{doc}:{b['line']} failed (exit {proc.returncode}):\n{code}\n"
                                      f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")
