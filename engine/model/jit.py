"""The one place that decides how kernels are compiled.

``cache=True``: compiled machine code is kept on disk so only the first run after an
install or a source change pays the compile time.  Numba's own cache check looks at
the modification time of the file a kernel is defined in, not at the files of the
functions it calls, so an edit to ``memcg.py`` could leave a stale ``driver.py``
kernel in the cache.  ``engine/__init__.py`` therefore points ``NUMBA_CACHE_DIR``
at a folder named after a hash of every module's source (see ``cache_dir``).

``nogil=True``: sweep points run in threads without holding the GIL.
``error_model="numpy"``: integer division by zero is not checked with a Python
exception (the kernels never divide by a value that can be zero), which keeps
the hot loops free of exception paths.
"""

from __future__ import annotations

import functools
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path

_PKG = Path(__file__).resolve().parent


# The modules of engine/model/ kernels are compiled from (or read constants from).  Editing any of
# them must invalidate every cached kernel; editing the others (CLI, tables, ...)
# must not force a recompile.
KERNEL_MODULES = ("jit", "rng", "events", "constants", "state", "memcg", "slub", "hooks", "frees", "kernel")


def source_hash() -> str:
    """Hash of the kernel modules' sources (file name and content)."""
    h = hashlib.sha256()
    for path in sorted(_PKG / f"{m}.py" for m in KERNEL_MODULES):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> str:
    """On-disk cache folder for this exact version of the kernels."""
    base = os.environ.get("BULKSIM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "bulksim",
    )
    return os.path.join(base, "numba-" + source_hash())


def configure_cache() -> None:
    """Set ``NUMBA_CACHE_DIR`` unless the user chose one.

    Numba reads the variable when it is first imported.  If the user's program
    imported numba before bulksim, its configuration is set directly as well;
    otherwise the kernels would be cached next to the sources, where Numba checks
    only each file's own time stamp and could load a stale helper.
    """
    import sys

    user_choice = os.environ.get("NUMBA_CACHE_DIR")
    os.environ.setdefault("NUMBA_CACHE_DIR", cache_dir())
    config = sys.modules.get("numba.core.config")
    if config is not None and not user_choice and not getattr(config, "CACHE_DIR", ""):
        config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


_NO_WRAPAROUND = False


def _install_index_hook() -> bool:
    """Let kernel compilation skip Numba's negative-index wraparound.

    Numba turns every signed array index ``i`` into ``i < 0 ? i + n : i`` (three
    instructions and a load of the dimension), because Python allows ``a[-1]``.
    The kernels never index with a negative number (tests/model/test_jit.py runs every
    preset and strategy with ``NUMBA_BOUNDSCHECK=1``, which then raises on any
    negative index), and the wraparound costs ~13% of the kernel's time.  The hook
    changes nothing unless ``_NO_WRAPAROUND`` is set, which ``kernel_compilation``
    does only while holding Numba's global compiler lock, so no other code that
    compiles in the process is affected.  Returns False (kernels compile with
    wraparound, same results) if this Numba has no such function.
    """
    try:
        from numba.core import types
        from numba.np import arrayobj
    except Exception:  # noqa: BLE001 - an optimisation only
        return False
    orig = getattr(arrayobj, "fix_integer_index", None)
    if orig is None:
        return False
    if getattr(orig, "_bulksim_hook", False):
        return True

    def fix_integer_index(context, builder, idxty, idx, size):
        if _NO_WRAPAROUND and isinstance(idxty, types.Integer) and idxty.signed:
            return context.cast(builder, idx, idxty, types.intp)
        return orig(context, builder, idxty, idx, size)

    fix_integer_index._bulksim_hook = True
    arrayobj.fix_integer_index = fix_integer_index
    return True


def without_avx512(features: str) -> str:
    """An LLVM feature string (``+avx2,+avx512f,...``) with every AVX-512 feature off."""
    out = []
    for f in features.split(","):
        if f.startswith("+avx512"):
            f = "-" + f[1:]
        out.append(f)
    return ",".join(out)


@functools.cache  # decided once per process
def kernel_codegen():
    """The code generator kernels compile with: this CPU without AVX-512, or None
    for Numba's own (the CPU has no AVX-512, or the user chose the target with
    ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES``, or this Numba lacks the internals).

    The kernels are scalar code with short loops over a call's 16 objects.  With
    AVX-512 on, LLVM vectorises those loops with 512-bit gathers and scatters and
    keeps vectors in ``zmm`` registers through the hot path; without it, all four
    strategies run 1.5-4% faster on the project's AMD EPYC (Zen 4) machine
    (docs/performance.md).  Only the instruction set changes: same CPU model,
    same results.  Code the user compiles keeps Numba's own code generator.
    """
    try:
        from numba.core import codegen, config

        features = codegen.get_host_cpu_features()
        if (config.CPU_NAME is not None or config.CPU_FEATURES is not None
                or "+avx512f" not in features.split(",")):
            return None

        class KernelCodegen(codegen.JITCPUCodegen):
            def _customize_tm_features(self):
                return without_avx512(super()._customize_tm_features())

        return KernelCodegen("numba.exec")
    except Exception:  # noqa: BLE001 - an optimisation only
        return None


def kernel_target() -> str:
    """The CPU the kernels are compiled for, as ``bulksim bench`` reports it
    (``znver4 without AVX-512``, ``generic``, ...)."""
    try:
        from numba.core.registry import cpu_target

        cg = kernel_codegen()
        name = (cg or cpu_target.target_context.codegen())._get_host_cpu_name()
    except Exception:  # noqa: BLE001 - a report only
        return "unknown"
    return f"{name} without AVX-512" if cg is not None else name


@contextmanager
def kernel_compilation():
    """Compile (or load) kernels inside this block: no index wraparound (see
    ``_install_index_hook``), the kernels' code generator (``kernel_codegen``).
    Holds Numba's global compiler lock (re-entrant).  Every ``@jit(kernel=True)``
    entry point compiles inside it (``_compile_as_kernel``)."""
    global _NO_WRAPAROUND
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    with global_compiler_lock:
        hooked = _install_index_hook()
        was_hooked = _NO_WRAPAROUND
        _NO_WRAPAROUND = hooked
        ctx = cpu_target.target_context
        cg = kernel_codegen()
        saved = getattr(ctx, "_internal_codegen", None)
        if cg is not None and saved is not None:
            ctx._internal_codegen = cg
        try:
            yield hooked
        finally:
            _NO_WRAPAROUND = was_hooked
            if saved is not None:
                ctx._internal_codegen = saved


def _enable_noalias() -> bool:
    """Let ``njit`` take ``noalias=True``: Numba has the compiler flag (it marks every
    pointer argument ``noalias`` in LLVM) but no decorator option for it.

    True for this engine: every array a kernel receives is a separate allocation
    owned by the driver (``state.make``), so no two arguments overlap.  Knowing that,
    LLVM keeps values in registers across stores to other arrays (~8% faster on
    the default scenario).  If a Numba release drops the flag, kernels compile
    without it and give the same results.
    """
    try:
        from numba.core import compiler, cpu, options

        if "noalias" not in compiler.Flags.options:
            return False
        if not hasattr(cpu.CPUTargetOptions, "noalias"):
            cpu.CPUTargetOptions.noalias = options.TargetOptions.Mapping("noalias")
        return True
    except Exception:  # noqa: BLE001 - an optimisation only; never fail an import for it
        return False


def jit(fn=None, *, kernel=False, **overrides):
    """``numba.njit`` with the project's options; use as ``@jit``.

    ``_nrt=False``: the kernels never allocate; every array is owned by the driver.
    ``boundscheck=False`` explicitly, so a ``NUMBA_DEBUGINFO=1`` build used for
    profiling (tools/profile_kernel.py) runs the same machine code paths.

    ``forceinline=True`` for every function: LLVM inlines each helper into the
    one kernel, ``run_calls``.  A real call to a helper that takes ``State`` passes
    ~200 machine words (Numba flattens each array into pointer, shape and strides),
    which cost more than the helper itself.  Inlining in LLVM rather than in Numba
    IR (``inline="always"``) keeps the cold compile short: Numba types each
    helper once instead of once per call site.  Compile time grows with the
    number of *call sites*, so the kernels are written with one call site per
    path (one free path, one charge path for the two run-based hooks; per_object
    keeps its own loop, 5% faster for ~2 s more compile).
    Measured on the 2-core machine: Numba-IR inlining of the hot path ~47 ns per
    object and ~45 s cold compile; LLVM inlining of everything ~33 ns and ~25 s.

    Every function Numba compiles on its own costs ~0.3-0.4 s of cold compile
    whatever its size (its own pipeline, a module with ~200 arguments, the cache
    file), so a helper with ONE call site is written ``@jit(inline="always")``:
    Numba inlines it into its caller's IR and never compiles it alone.  With the
    one-pass kernel (issue 20) that took the cold compile from ~33 to ~24 s on this
    machine, with no change in speed (per_object 19.9 -> 18.5, batched 19.1 -> 17.9
    ns/object, the same session).  Helpers with several call sites stay LLVM-inlined:
    IR inlining types them once per site.
    Each jit level re-optimises all the code inlined into it, so the kernel's loops
    over the strategies are written out in ``run_calls``, not in helpers.
    ``kernel=True`` marks an entry point called from Python: it compiles (with its
    helpers) inside ``kernel_compilation``, without negative-index wraparound.
    """
    import numba

    opts = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False, _nrt=False,
                forceinline=True)
    if _enable_noalias():
        opts["noalias"] = True
    opts.update(overrides)

    def make(f):
        disp = _one_signature(numba.njit(**opts)(f))
        return _compile_as_kernel(disp) if kernel else disp

    return make if fn is None else make(fn)


def _compile_as_kernel(disp):
    """Make every compilation (or cache load) of ``disp`` run in ``kernel_compilation``."""
    orig = disp.compile

    def compile(sig):
        with kernel_compilation():
            return orig(sig)

    disp.compile = compile
    return disp


def _one_signature(disp):
    """Compile a helper once for plain ``int64`` arguments, not once per literal.

    Called from another kernel with a module constant (a random stream id, a
    phase), Numba would type the argument as ``Literal[int](k)`` and compile one
    specialisation per constant: 97 instead of 50 functions, ~6 s of cold
    compile.  Every helper is inlined by LLVM anyway, which folds the
    constant back in, so the machine code is the same.
    """
    from numba.core import types

    orig = disp.get_call_template

    def get_call_template(args, kws):
        return orig(tuple(types.unliteral(a) for a in args),
                    {k: types.unliteral(v) for k, v in kws.items()})

    disp.get_call_template = get_call_template
    return disp


def _expect(value: int):
    """An intrinsic ``f(cond) -> cond`` that tells LLVM ``cond`` is usually ``value``
    (``llvm.expect``, C's ``__builtin_expect``)."""
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def expect(typingctx, cond):
        if not isinstance(cond, types.Boolean):
            return None

        def codegen(context, builder, signature, args):
            i1 = ir.IntType(1)
            fn = builder.module.declare_intrinsic("llvm.expect", [i1], ir.FunctionType(i1, [i1, i1]))
            return builder.call(fn, [args[0], ir.Constant(i1, value)])

        return types.boolean(cond), codegen

    return expect


# ``if unlikely(cond):`` marks a rare path (a stock miss, a full sheaf, a remote
# free).  LLVM then lays the common path out as straight-line code and moves the rare
# blocks away, so the hot loop takes fewer branches and fits the instruction caches
# better.  The hints change only code layout, never a result.
likely = _expect(1)
unlikely = _expect(0)
