"""Compilation settings: the on-disk cache folder follows the kernel sources."""

from __future__ import annotations

import re
from pathlib import Path

from engine import _jit

PKG = Path(_jit.__file__).resolve().parent


def test_every_module_with_kernels_is_hashed_for_the_cache():
    users = {p.stem for p in PKG.glob("*.py") if re.search(r"^@jit", p.read_text(), re.M)}
    assert users, "no kernels found"
    assert users <= set(_jit.KERNEL_MODULES)
    # and every module a kernel imports from inside the package is hashed too
    for mod in users:
        for dep in re.findall(r"^from \.(\w+) import", (PKG / f"{mod}.py").read_text(), re.M):
            assert dep in _jit.KERNEL_MODULES, f"{mod} imports {dep}, which is not hashed"


def test_cache_dir_changes_with_kernel_source(tmp_path, monkeypatch):
    monkeypatch.setenv("BULKSIM_CACHE_DIR", str(tmp_path))
    a = _jit.cache_dir()
    assert a.startswith(str(tmp_path)) and a.endswith(_jit.source_hash())
    monkeypatch.setattr(_jit, "KERNEL_MODULES", _jit.KERNEL_MODULES[:-1])
    assert _jit.cache_dir() != a


def test_kernel_compiled_inlined_and_noalias():
    """The speed of the kernels rests on two compiler settings (engine/_jit.py):
    every helper inlined into ``run_calls`` and its array arguments marked noalias."""
    from engine import driver, kernel
    from engine.scenario import Scenario

    driver.run_strategy(Scenario.from_preset("default", calls=10), "batched", 0)
    (cres,) = kernel.run_calls.overloads.values()
    assert cres.fndesc.inline, "run_calls not compiled with forceinline"
    assert cres.fndesc.noalias == _jit._enable_noalias()
    assert cres.fndesc.noalias, "this Numba lost the noalias flag: kernels ~8% slower"
