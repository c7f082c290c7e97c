"""Model outputs tracked over commits: a change to the model shows up as a step.

All values are per simulated object and phrased so that bigger is worse.
"""

from ._common import engine_or_skip

# ``none`` (no accounting) is tracked in FreeOutputs: adding it here would change
# these tracks' parameters and cut their history.
STRATEGIES = ["per_object", "batched_v1", "batched", "upfront"]
PRESETS = ["default", "io_uring", "numa_mixed", "many_cgroups", "tight_limit", "single"]
CALLS = 20_000


class _RowTracks:
    """The track_ methods over ``setup_cache``'s rows keyed by (scenario, column key):
    asv skips this class itself (leading underscore) and finds the methods on the
    benchmark classes that inherit them."""

    def _get(self, out, scenario, key, column, per_object=True):
        row = out.get((scenario, key))
        if row is None or column not in row:
            raise NotImplementedError(f"{column} for {scenario}/{key} not available")
        value = row[column]
        return value / max(row["objects"], 1) if per_object else value

    def track_hook_cycles_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "hook_cycles_per_object", per_object=False)

    track_hook_cycles_per_object.unit = "cycles/object"

    def track_total_cycles_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "total_cycles_per_object", per_object=False)

    track_total_cycles_per_object.unit = "cycles/object"

    def track_stock_locks_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "stock_locks")

    track_stock_locks_per_object.unit = "locks/object"

    def track_stat_flushes_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "stat_flushes")

    track_stat_flushes_per_object.unit = "flushes/object"


class ModelOutputs(_RowTracks):
    params = [PRESETS, STRATEGIES]
    param_names = ["scenario", "strategy"]  # preset; hook strategy
    timeout = 900

    def setup_cache(self):
        engine = engine_or_skip()
        out = {}
        for scenario in PRESETS:
            if scenario not in engine.PRESETS:
                continue
            table = engine.simulate(scenario, calls=CALLS, seed=0).summary
            for row in table.to_pylist():
                out[(scenario, row["strategy"])] = row
        return out


# Strategy x kernel generation pairs beyond each strategy's own (ModelOutputs runs
# those), on the presets where the generations differ (docs/model.md §5a).
GEN_PRESETS = ["default", "io_uring", "numa_spread", "switch_storm", "kib_runs"]
GEN_PAIRS = ["per_object@mainline-2026", "batched@mainline-2026", "upfront@v6.12",
             "per_object@mm-2026", "batched_v1@mm-2026", "batched@mm-2026"]


def _pin_versions(cls, versions: dict) -> None:
    """Give ``cls`` its own copy of each track_ method with an explicit asv ``version``.

    asv keys a benchmark's history on a hash of its source; a refactor of the code
    around the engine (``_RowTracks``) would otherwise start every model-output series
    afresh, and the site would lose the steps these tracks exist to show.  The pinned
    values are the hashes the methods had when their results began (docs/performance-
    history.md); change one only when what a track measures changes.
    """
    for name, version in versions.items():
        base = getattr(cls, name)

        def track(self, out, scenario, key, _base=base):
            return _base(self, out, scenario, key)

        track.unit = base.unit
        track.version = version
        track.__name__ = name
        setattr(cls, name, track)


_pin_versions(ModelOutputs, {
    "track_hook_cycles_per_object": "80e9245b23c739341f40cebfbe8119fbb49c7d8e534e4e41de4f50045c07f076",
    "track_total_cycles_per_object": "b15aca401235f16f912875ecaa7535df49a9d65b28aac7681cb2cb8711008031",
    "track_stock_locks_per_object": "0ff23ad0f4f1c71bf346bd8e2514c256c158b48e8242f591539e343bc782a8a2",
    "track_stat_flushes_per_object": "e6c2ccc305823783a415b486ea8806c1366f1f98ddf04ccfb6f90e94865978d5",
})


class GenerationOutputs(_RowTracks):
    params = [GEN_PRESETS, GEN_PAIRS]
    param_names = ["scenario", "strategy@kernel"]
    timeout = 900

    def setup_cache(self):
        engine = engine_or_skip()
        from engine.inputs.scenario import Scenario

        if "kernel" not in {f for f in Scenario.__dataclass_fields__}:
            raise NotImplementedError("no kernel generations at this commit")
        out = {}
        for scenario in GEN_PRESETS:
            if scenario not in engine.PRESETS:
                continue
            for pair in GEN_PAIRS:
                strategy, kernel = pair.split("@")
                scn = Scenario.from_preset(scenario, kernel=kernel)
                row = engine.simulate(scn, strategies=strategy, calls=CALLS, seed=0).summary.to_pylist()[0]
                out[(scenario, pair)] = row
        return out

    def track_drains_per_object(self, out, scenario, pair):
        return self._get(out, scenario, pair, "drains")

    track_drains_per_object.unit = "drains/object"


_pin_versions(GenerationOutputs, {
    "track_hook_cycles_per_object": "1da0e1c0a275bd396950f499dba9ec551839f0dd47cb52ff5a9b9433bf3c77fb",
    "track_total_cycles_per_object": "b7c232bd46e00b0612da25f460abeaeb2442f3bc1e857c467d5954aae85f1d6b",
    "track_stock_locks_per_object": "914f6c45a7dbdabfceacf2bf25702ef1d963ba61664a1da89c33c9f571cf5fc9",
    "track_stat_flushes_per_object": "aa6bb079cf46d4b0542889ac0673cd4948347c1c0aecb8e67b9550f6274d4c03",
    "track_drains_per_object": "85b7a3b7a7cc6dcc94a07810ef11a5c2b70e2fcb5ee68b2908f23aa47d764ed2",
})


# The free side (docs/model.md §7a): each post-alloc strategy with bulk frees of 8 and 32
# under either free hook, and none (no accounting) as the baseline of the cost of
# accounting, on the presets of issue 19.
FREE_PRESETS = ["default", "io_uring"]
FREE_KEYS = [f"{s}/{h}/{b}" for b in (8, 32) for h in ("per_object", "batched")
             for s in ("per_object", "batched", "upfront")] + ["none/per_object/8", "none/per_object/32"]


class FreeOutputs(_RowTracks):
    params = [FREE_PRESETS, FREE_KEYS]
    param_names = ["scenario", "strategy/free_hook/free_bulk"]
    timeout = 900

    def setup_cache(self):
        engine = engine_or_skip()
        from engine.inputs.scenario import Scenario

        if "free_hook" not in {f for f in Scenario.__dataclass_fields__}:
            raise NotImplementedError("no free hooks at this commit")
        out = {}
        for scenario in FREE_PRESETS:
            for key in FREE_KEYS:
                strategy, hook, bulk = key.split("/")
                scn = Scenario.from_preset(scenario, free_hook=hook, free_bulk=int(bulk))
                row = engine.simulate(scn, strategies=strategy, calls=CALLS, seed=0).summary.to_pylist()[0]
                out[(scenario, key)] = row
        return out

    def track_free_hook_cycles_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "free_hook_cycles_per_object", per_object=False)

    track_free_hook_cycles_per_object.unit = "cycles/object"


def _hooks_only(cls, names) -> None:
    """``none`` runs no memcg hook: its hook cycles, free-hook cycles, stock locks and stat
    flushes are not zero costs but quantities that do not exist.  Recorded as 0 they
    entered asv's summary (a geometric mean over every parameter) and pinned the
    thumbnail to 0; raised as NotImplementedError asv records them as n/a, which the
    summary skips.  ``none`` stays a parameter for track_total_cycles_per_object, the
    baseline of the cost of accounting.  New versions: the old series held the zeros.
    ``skip_params`` is asv's own per-parameter skip (asv_runner's ``skip_for_params``)."""
    skip = [(scenario, key) for scenario in cls.params[0] for key in cls.params[1]
            if key.split("/", 1)[0] == "none"]
    for name in names:
        base = getattr(cls, name)

        def track(self, out, scenario, key, _base=base):
            if key.split("/", 1)[0] == "none":
                raise NotImplementedError("none runs no memcg hook")
            return _base(self, out, scenario, key)

        track.unit = base.unit
        track.skip_params = skip
        track.version = "free-none-na-1"
        track.__name__ = name
        setattr(cls, name, track)


_hooks_only(FreeOutputs, ["track_hook_cycles_per_object", "track_free_hook_cycles_per_object",
                          "track_stock_locks_per_object", "track_stat_flushes_per_object"])
_pin_versions(FreeOutputs, {
    "track_total_cycles_per_object": "39091624a7b0bb3e61acaf073e574cb11d55b1ec79d5b39a32d91869cdf4df13",
})
