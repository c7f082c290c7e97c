"""Adversarial cases of issue 25 (second pass): foreign inputs that used to end in a
traceback or a silently absurd result instead of one line and exit 2."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import BadInputError
from engine.inputs.costs import DEFAULT_PROFILE, PROFILES
from engine.inputs.profile_file import document, load

ROOT = Path(__file__).resolve().parents[1]


def _good() -> dict:
    d = document(PROFILES[DEFAULT_PROFILE])
    d["name"] = "adv"
    return d


def _write(tmp_path: Path, name: str, doc) -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def _variants():
    first = next(iter(_good()["costs"]))
    out = {}
    d = _good(); d["version"] = True; out["version-true"] = (d, "version")
    d = _good(); d["version"] = 1.0; out["version-float"] = (d, "version")
    out["bigint-clock"] = (json.dumps(_good()).replace(
        f'"clock_ghz": {_good()["clock_ghz"]!r}', '"clock_ghz": 1' + "0" * 400), "finite number")
    d = _good(); d["costs"][first] = {"low": 0, "central": 1, "high": 10 ** 400, "source": "s"}
    out["bigint-cost"] = (d, "finite number")
    d = _good(); d["costs"][first] = {"low": 0, "central": 1e300, "high": 1e308, "source": "s"}
    out["huge-cost"] = (d, "beyond")
    out["deep"] = ("[" * 200_000 + "]" * 200_000, "nested too deeply")
    d = _good(); d["name"] = "a\nb\x1b[31m"; out["control-name"] = (d, "printable")
    return out


@pytest.mark.parametrize("case", sorted(_variants()))
def test_foreign_profile_is_one_bad_input(tmp_path, case):
    doc, words = _variants()[case]
    p = _write(tmp_path, f"{case}.json", doc)
    with pytest.raises(BadInputError, match=words):
        load(p)


def test_good_profile_still_loads(tmp_path):
    prof = load(_write(tmp_path, "good.json", _good()))
    assert prof.name == "adv" and prof.costs.keys() == PROFILES[DEFAULT_PROFILE].costs.keys()


@pytest.mark.parametrize("case", ["bigint-clock", "deep"])
def test_foreign_profile_cli_one_line(tmp_path, case):
    doc, words = _variants()[case]
    p = _write(tmp_path, f"{case}.json", doc)
    r = subprocess.run([sys.executable, "-m", "engine", "profiles", "--show", str(p)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulksim: error:") and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr
