"""Compilation settings: the on-disk cache folder follows the kernel sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.model import jit as _jit

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
    from engine.inputs.scenario import Scenario
    from engine.model import kernel
    from engine.run import simulate as driver

    driver.run_strategy(Scenario.from_preset("default", calls=10), "batched", 0)
    (cres,) = kernel.run_calls.overloads.values()
    assert cres.fndesc.inline, "run_calls not compiled with forceinline"
    assert cres.fndesc.noalias == _jit._enable_noalias()
    assert cres.fndesc.noalias, "this Numba lost the noalias flag: kernels ~8% slower"
    # the entry point compiles inside kernel_compilation (no index wraparound)
    seen = []
    orig = _jit.kernel_compilation

    def spy():
        seen.append(True)
        return orig()

    import pytest

    mp = pytest.MonkeyPatch()
    mp.setattr(_jit, "kernel_compilation", spy)
    try:
        kernel.run_calls.compile(next(iter(kernel.run_calls.overloads)))
    finally:
        mp.undo()
    assert seen, "run_calls did not compile inside _jit.kernel_compilation"


_BOUNDSCHECK_SCRIPT = r"""
import sys
from engine import simulate
from engine.inputs.scenario import PRESETS, Scenario
from engine.inputs.trace import from_calls
from tests.model.test_reference_model import CORNER_CASES, _shrink

scns = [_shrink(n) for n in PRESETS]
scns += [Scenario.from_preset("default", **{"calls": 400, "live_objects": 300, **kw})
         for kw in CORNER_CASES.values()]
for scn in scns:
    simulate(scn, seed=3)
    simulate(scn.replace(kernel="mm-2026"), strategies="per_object,batched_v1,batched", seed=3)
small = Scenario.from_preset("default", calls=3, cpus=2, nodes=2)
simulate(small, trace=from_calls([[(0, 0, True), (1, 1, False), (2, 0, True)]] * 3, small))
print("checked", len(scns) + 1)
"""


def test_kernels_never_index_out_of_bounds_or_negative(tmp_path):
    """Kernels are compiled without negative-index wraparound (``_jit.kernel_compilation``),
    so a negative index would touch memory outside its array.  Here every preset and
    corner case runs with Numba's bounds checking forced on (``NUMBA_BOUNDSCHECK=1``,
    own cache folder): any negative or too-large index raises IndexError."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_BOUNDSCHECK="1",
               BULKSIM_CACHE_DIR=os.path.join(os.path.dirname(_jit.cache_dir()), "boundscheck"))
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", _BOUNDSCHECK_SCRIPT], cwd=PKG.parents[1], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    from engine.inputs.scenario import PRESETS

    from .test_reference_model import CORNER_CASES

    assert out.stdout.strip() == f"checked {len(PRESETS) + len(CORNER_CASES) + 1}"


def test_index_hook_is_off_outside_kernel_compilation():
    """The no-wraparound hook must not change other code that Numba compiles."""
    import numba
    import numpy as np

    with _jit.kernel_compilation() as hooked:
        assert hooked and _jit._NO_WRAPAROUND
    assert not _jit._NO_WRAPAROUND

    @numba.njit
    def last(a, i):
        return a[i]

    assert last(np.arange(5), -1) == 4


def test_without_avx512_turns_off_only_avx512():
    f = "+64bit,+avx2,+avx512f,+avx512vl,-avx512fp16,+bmi2,+avx512bw"
    assert _jit.without_avx512(f) == "+64bit,+avx2,-avx512f,-avx512vl,-avx512fp16,+bmi2,-avx512bw"


def test_kernels_compile_without_avx512_and_other_code_keeps_numbas_target():
    """``_jit.kernel_codegen``: kernels get this CPU without AVX-512 (when it has
    AVX-512 and the user did not choose a target); code compiled outside
    ``kernel_compilation`` keeps Numba's own code generator."""
    import numba
    import numpy as np
    from numba.core import codegen, config
    from numba.core.registry import cpu_target

    default = cpu_target.target_context.codegen()
    kcg = _jit.kernel_codegen()
    host = codegen.get_host_cpu_features().split(",")
    if "+avx512f" in host and config.CPU_NAME is None and config.CPU_FEATURES is None:
        assert kcg is not None and kcg is not default
        assert "+avx512f" not in kcg._tm_features.split(",")
        assert "-avx512f" in kcg._tm_features.split(",")
        assert kcg._get_host_cpu_name() == default._get_host_cpu_name()
    else:
        assert kcg is None
    expected = kcg or default
    name = default._get_host_cpu_name()
    assert _jit.kernel_target() == (f"{name} without AVX-512" if kcg is not None else name)

    def body(a):
        s = 0
        for i in range(a.shape[0]):
            s += a[i] * 3
        return s

    as_kernel = _jit.jit(kernel=True, cache=False)(body)
    as_user = numba.njit(cache=False)(body)
    a = np.arange(1000)
    assert as_kernel(a) == as_user(a) == 3 * int(a.sum())
    (kres,) = as_kernel.overloads.values()
    (ures,) = as_user.overloads.values()
    assert kres.library.codegen is expected
    assert ures.library.codegen is default
    assert cpu_target.target_context.codegen() is default
    if kcg is not None:
        assert "zmm" not in kres.library.get_asm_str()

    from engine.inputs.scenario import Scenario
    from engine.model import kernel
    from engine.run import simulate as driver

    driver.run_strategy(Scenario.from_preset("default", calls=10), "batched", 0)
    (cres,) = kernel.run_calls.overloads.values()
    assert cres.library.codegen is expected


def test_helpers_compile_once_whatever_constant_they_get():
    """A helper called with different module constants (stream ids, phases) must
    not be compiled once per constant (``_jit._one_signature``)."""
    import numba

    from engine.model import rng

    @numba.njit
    def two_streams(seed):
        return rng.draw_u53(seed, rng.S_CPU, 0) + rng.draw_u53(seed, rng.S_IRQ, 5)

    assert two_streams(7) == (rng.draw_u53(7, rng.S_CPU, 0) + rng.draw_u53(7, rng.S_IRQ, 5))
    sigs = [str(s) for s in rng.draw_u53.signatures]
    assert not any("Literal" in s for s in sigs), sigs


def test_cache_folder_is_used_even_when_numba_was_imported_first(tmp_path):
    import os
    import subprocess
    import sys

    code = ("import numba, numba.core.config as c\n"
            "import engine, engine.model.jit as j\n"
            "print(c.CACHE_DIR == j.cache_dir() == os.environ['NUMBA_CACHE_DIR'])\n")
    env = dict(os.environ, BULKSIM_CACHE_DIR=str(tmp_path))
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", "import os\n" + code], cwd=PKG.parents[1], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True", out.stderr[-2000:]


def test_branch_hints_pass_the_condition_through_and_reach_llvm():
    import numba

    @numba.njit
    def rare(x):
        if _jit.unlikely(x > 3):
            return 1
        return 2 if _jit.likely(x == 0) else 3

    assert [rare(x) for x in (0, 1, 3, 4, 100)] == [2, 3, 3, 1, 1]
    ir = rare.inspect_llvm(rare.signatures[0])  # optimised: the hints became branch weights
    assert '!"expected"' in ir and '"branch_weights", i32 1, i32' in ir
    with pytest.raises(numba.core.errors.TypingError):
        numba.njit(lambda x: _jit.unlikely(x))(3)  # an integer is not a condition
