"""From perf samples to nanoseconds per object per phase, with bootstrap intervals.

A sample's kernel call chain (leaf first) is searched from the root side for the
outermost slab entry point called from one of the workload's call sites (entry point,
calling function).  Below it, ``__memcg_slab_post_alloc_hook`` makes the sample
``post_alloc_hook`` and ``__memcg_slab_free_hook`` makes it ``free_hook``; otherwise it
is ``slab_alloc`` or ``slab_free`` by the entry point.  A calling function may call the
same entry point for another, unaccounted object (``file_free()`` frees the file's LSM
blob next to the file): only call *sites* (return addresses) under which the hook was
sampled count, so the other object's slab time is left out.

Time per sample is its period (cpu-clock: nanoseconds of the driver's CPU time).
Intervals: each repeat's samples are cut, in time order, into ``BATCHES`` batches of
equal count; a batch's objects are the repeat's objects times its share of the
repeat's sampled time.  Each of ``BOOT`` resamples (a fixed seed) draws the repeats
with replacement and, within each drawn repeat, its batches with replacement (a
two-level bootstrap: repeats differ more than batches of one repeat, because other
processes share the memory cgroup); the 2.5 and 97.5 percentiles of every ratio are the
interval.  With one repeat it is a plain batch bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .symbols import SymbolSet, entry_name
from .workloads import PHASES

BATCHES = 10
BOOT = 2000
PH = {p: i for i, p in enumerate(PHASES)}


def parse_script(text: str) -> list[tuple[int, list[tuple[int, str]]]]:
    """perf script ``-F period,ip,sym`` output -> [(period, [(address, symbol), ...])]."""
    out = []
    for block in text.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if not lines:
            continue
        try:
            period = int(lines[0].split()[0])
        except (ValueError, IndexError):
            continue
        frames = []
        for ln in lines[1:]:
            p = ln.split(None, 1)
            if not p:
                continue
            try:
                addr = int(p[0], 16)
            except ValueError:
                continue
            frames.append((addr, p[1].strip() if len(p) > 1 else "[unknown]"))
        out.append((period, frames))
    return out


def _site(frames, workload, sset: SymbolSet):
    """(kind, index of the entry frame, caller address) of the outermost matching entry, or None."""
    for i in range(len(frames) - 2, -1, -1):
        sym = frames[i][1]
        caller = frames[i + 1][1].split(".", 1)[0]
        e = entry_name(sym, sset.alloc_entries)
        if e is not None and (e, caller) in workload.alloc_sites:
            return "alloc", i, (e, frames[i + 1][0])
        e = entry_name(sym, sset.free_entries)
        if e is not None and (e, caller) in workload.free_sites:
            return "free", i, (e, frames[i + 1][0])
    return None


def classify(samples, workload, sset: SymbolSet, *, filter_sites: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Phase index per sample (-1: none of the four) and its period.  ``filter_sites``:
    keep only call sites under which a hook was sampled (off for the unaccounted path,
    where no hook does any work)."""
    hooks_alloc, hooks_free = sset.post_alloc_hook, sset.free_hook
    prelim = []
    hooked_sites = set()
    for period, frames in samples:
        hit = _site(frames, workload, sset)
        if hit is None:
            prelim.append((period, -1, None))
            continue
        kind, i, site = hit
        inner = {s for _, s in frames[:i]}
        if kind == "alloc":
            ph = PH["post_alloc_hook"] if inner & hooks_alloc else PH["slab_alloc"]
        else:
            ph = PH["free_hook"] if inner & hooks_free else PH["slab_free"]
        if ph in (PH["post_alloc_hook"], PH["free_hook"]):
            hooked_sites.add(site)
        prelim.append((period, ph, site))
    phase = np.full(len(prelim), -1, dtype=np.int64)
    per = np.zeros(len(prelim), dtype=np.float64)
    for k, (period, ph, site) in enumerate(prelim):
        per[k] = period
        if ph >= 0 and (site in hooked_sites or not filter_sites):
            phase[k] = ph
    return phase, per


def leaf_time(samples, phase: np.ndarray, into: dict) -> None:
    """Add each attributed sample's period to ``into[phase][leaf function]``: where the
    time of a phase goes, function by function (self time)."""
    for (period, frames), ph in zip(samples, phase):
        if ph >= 0 and frames:
            d = into.setdefault(int(ph), {})
            leaf = frames[0][1].split("+", 1)[0]
            d[leaf] = d.get(leaf, 0) + period


def top_text(times: dict, n: int = 5) -> str:
    """'___slab_alloc 39%, allocate_slab 11%, ...': the ``n`` largest shares of a phase."""
    total = sum(times.values())
    if not total:
        return ""
    best = sorted(times.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{name} {100 * t / total:.0f}%" for name, t in best)


@dataclass
class Batches:
    """Per batch: nanoseconds per phase [n, 4], all sampled ns [n], objects [n], samples per phase [n, 4]."""

    phase_ns: np.ndarray
    total_ns: np.ndarray
    objects: np.ndarray
    samples: np.ndarray
    repeat: np.ndarray | None = None  # the repeat each batch belongs to

    @staticmethod
    def concat(parts: list["Batches"]) -> "Batches":
        cols = [np.concatenate([getattr(p, f) for p in parts]) for f in ("phase_ns", "total_ns", "objects", "samples")]
        rep = np.concatenate([np.full(len(p.objects), i, dtype=np.int64) for i, p in enumerate(parts)])
        return Batches(*cols, repeat=rep)


def batches(phase: np.ndarray, period: np.ndarray, objects: int, nb: int = BATCHES) -> Batches:
    n = len(phase)
    nb = max(1, min(nb, n))
    edges = np.linspace(0, n, nb + 1).astype(np.int64)
    pn = np.zeros((nb, 4)), np.zeros(nb), np.zeros((nb, 4))
    for b in range(nb):
        sl = slice(edges[b], edges[b + 1])
        ph, pe = phase[sl], period[sl]
        pn[1][b] = pe.sum()
        for j in range(4):
            m = ph == j
            pn[0][b, j] = pe[m].sum()
            pn[2][b, j] = m.sum()
    tot = pn[1].sum()
    objs = objects * pn[1] / tot if tot > 0 else np.zeros(nb)
    return Batches(pn[0], pn[1], objs, pn[2])


@dataclass
class Estimate:
    value: float
    low: float
    high: float


def _stats(phase_ns: np.ndarray, objects: np.ndarray, captured: list[int]) -> dict[str, np.ndarray]:
    """Ratios over the leading axis summed: ns/object per phase, hook share, accounted/unaccounted."""
    obj = objects.sum(axis=-1)
    ns = phase_ns.sum(axis=-2)  # [..., 4]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_obj = ns / obj[..., None]
        hooks = sum(ns[..., j] for j in captured if PHASES[j] in ("post_alloc_hook", "free_hook"))
        slab = sum(ns[..., j] for j in captured if PHASES[j] in ("slab_alloc", "slab_free"))
        share = hooks / (hooks + slab)
        ratio = (hooks + slab) / slab
    return {"per_object": per_obj, "hook_share": share, "accounted_ratio": ratio}


def _resample(b: Batches, boot: int, rng) -> np.ndarray:
    """[boot, n] batch indices: repeats drawn with replacement, then batches within each."""
    n = len(b.objects)
    rep = np.zeros(n, dtype=np.int64) if b.repeat is None else b.repeat
    groups = [np.flatnonzero(rep == r) for r in np.unique(rep)]
    sizes = {len(g) for g in groups}
    if len(groups) == 1 or len(sizes) != 1:
        return rng.integers(0, n, size=(boot, n)) if len(groups) == 1 else \
            np.concatenate([g[rng.integers(0, len(g), size=(boot, len(g)))] for g in groups], axis=1)
    k = sizes.pop()
    table = np.stack(groups)                                  # [repeats, k]
    pick = rng.integers(0, len(groups), size=(boot, len(groups)))  # repeats drawn
    within = rng.integers(0, k, size=(boot, len(groups), k))       # batches within each
    return table[pick[..., None], within].reshape(boot, -1)


def estimates(b: Batches, captured_phases: tuple[str, ...], *, boot: int = BOOT, seed: int = 0) -> dict:
    captured = [PH[p] for p in captured_phases]
    point = _stats(b.phase_ns, b.objects, captured)
    rng = np.random.default_rng(seed)
    idx = _resample(b, boot, rng)
    bs = _stats(b.phase_ns[idx], b.objects[idx], captured)

    def est(v, arr):
        """A resample without any slab time has no ratio: it is left out (nan), not infinite."""
        arr = np.where(np.isfinite(arr), arr, np.nan)
        if not np.isfinite(arr).any() or not np.isfinite(v):
            return float(v) if np.isfinite(v) else np.nan, np.nan, np.nan
        lo, hi = np.nanpercentile(arr, [2.5, 97.5], axis=0)
        return float(v), float(lo), float(hi)

    out = {"per_object": [], "samples": b.samples.sum(axis=0).astype(np.int64)}
    for j in range(4):
        out["per_object"].append(Estimate(*est(point["per_object"][j], bs["per_object"][:, j]))
                                 if j in captured else Estimate(np.nan, np.nan, np.nan))
    out["hook_share"] = Estimate(*est(point["hook_share"], bs["hook_share"]))
    out["accounted_ratio"] = Estimate(*est(point["accounted_ratio"], bs["accounted_ratio"]))
    return out
