"""Bad input, table-driven: one line on stderr, a non-zero exit, no traceback, and
no file left behind (docs/errors.md)."""

from __future__ import annotations

import pytest

from engine import cli

EMPTY_TRACE = "call,slab,node,has_exts\n"


def _cases():
    run = ["run", "--quiet", "--calls", "20"]
    sets = {
        "cpus=0": "cpus", "cpus=x": "cpus", "cpus=1.5": "cpus", "memcgs=0": "memcgs",
        "depth=0": "depth", "depth=17": "depth", "nodes=65": "nodes",
        "object_size=0": "object_size", "object_size=9000": "object_size",
        "object_size=-1": "object_size", "bulk_size=0": "bulk_size", "bulk_size=70000": "bulk_size",
        "bulk_dist=normal": "bulk_dist", "live_objects=-1": "live_objects",
        "free_bulk=0": "free_bulk", "free_bulk=70000": "free_bulk", "free_bulk=x": "free_bulk",
        "free_hook=detached": "free_hook", "free_hok=batched": "did you mean 'free_hook'",
        "objs_per_slab=1": "objs_per_slab", "objs_per_slab=2000": "objs_per_slab",
        "sheaf_capacity=-1": "sheaf_capacity", "kfence_prob=2": "probability",
        "exts_fail_prob=-0.1": "probability", "irq_reentry_prob=inf": "finite",
        "remote_free_prob=nan": "finite", "get_many=maybe": "get_many", "gfp_nofail=2": "gfp_nofail",
        "run_cap_bytes=10": "run_cap_bytes", "run_cap_bytes=3000000000": "run_cap_bytes",
        "reclaim_retries=-1": "reclaim_retries", "memcg_max_pages=-5": "memcg_max_pages",
        "pagecache_pages=50": "pagecache_pages", "remote_prbo=0.5": "did you mean 'remote_prob'",
        "calls": "key=value", "=5": "unknown scenario parameter",
    }
    for item, words in sets.items():
        extra = ["--set", "memcg_max_pages=10"] if item.startswith("pagecache") else []
        yield run + extra + ["--set", item], words
    # the ancestors start with every leaf's page cache: above their limit is no valid start
    for sets_ in (["ancestor_max_pages=1", "pagecache_pages=1", "reclaim_pages=0"],
                  ["memcg_max_pages=2", "ancestor_max_pages=2", "pagecache_pages=2", "memcgs=2"]):
        yield run + [a for s in sets_ for a in ("--set", s)], "ancestor_max_pages"
    yield run + ["--seed", "abc"], "--seed"
    # an empty value is never "all" or "none" silently
    yield run + ["--detail", ",", "--out", "{tmp}/d.parquet"], "--detail"
    yield ["validate", "--calls", "100", "--rows", ","], "--rows"
    yield ["validate", "--calls", "100", "--rows", ""], "--rows"
    yield ["profiles", "--show", ""], "unknown cost profile"
    yield ["scenarios", "--show", ""], "unknown scenario"
    for grid in ("bulk_size=,4", "bulk_size=4,,", "bulk_size=4,", "kernel=,,mm-2026"):
        yield ["sweep", "--quiet", "--calls", "20", "--grid", grid, "--out", "{tmp}/sw"], "bulk_size" \
            if grid.startswith("bulk") else "twice"
    yield run + ["--seed", str(2**63)], "seed"
    yield run + ["--chunk-calls", "0"], "chunk"
    yield run + ["--check-every", "-1"], "check interval"
    yield ["run", "--calls", "-1"], "calls"
    yield run + ["--memcgs", "0"], "memcgs"
    yield run + ["--remote-prob", "1.5"], "probability"
    yield run + ["--remote-prob", "abc"], "remote_prob"
    yield run + ["--profile", ""], "unknown cost profile"
    yield run + ["--strategies", ","], "strategy"
    yield run + ["--scenario", "io-uring"], "did you mean 'io_uring'"
    yield run + ["--out", "{tmp}/missing/x.parquet"], "does not exist"
    yield run + ["--out", "{tmp}/x.csv"], ".parquet"
    yield run + ["--trace", "{tmp}"], "not a file"
    yield run + ["--trace", "{tmp}/empty.csv"], "no rows"
    yield ["scenarios", "--show", "nope"], "unknown scenario"
    yield ["profiles", "--show", "nope"], "unknown cost profile"
    yield ["history", "{tmp}/nope", "--out", "{tmp}/h.parquet"], "no such folder"
    yield ["history", "{tmp}"], "--out"
    yield ["bench", "--workers", "0"], "--workers"
    yield ["bench", "--calls", "zero"], "--calls"
    yield ["bench", "--calls", "10", "--repeat", "9" * 21], "--repeat"
    yield ["bench", "--calls", "10", "--workers", "99999999999"], "--workers"
    yield ["bench", "--calls", "10", "--ref-calls", "9" * 20], "--ref-calls"
    yield ["bench", "--calls", "9" * 25], "calls"
    yield ["run", "--frobnicate"], "unrecognized"
    yield ["bench", "--calls", "0", "--repeat", "1", "--ref-calls", "0", "--workers", "1"], "--calls"
    # an empty path is bad input for every path option of every command, never ignored
    yield run + ["--out", ""], "--out: empty path"
    yield run + ["--trace", ""], "--trace: empty path"
    yield run + ["--trace", " "], "--trace: empty path"
    yield ["history", "{asv}", "--out", ""], "--out: empty path"
    yield ["history", "", "--out", "{tmp}/h.parquet"], "empty path"
    yield ["report", "", "--out", "{tmp}/rep"], "empty path"
    yield ["report", "{tmp}/summary.parquet", "--out", ""], "--out: empty path"
    yield ["sweep", "--quiet", "--grid", "bulk_size=1", "--calls", "20", "--out", ""], "--out: empty path"
    yield ["compare", ""], "empty path"
    yield ["compare", "{tmp}/summary.parquet", "-o", "parquet", "--out", ""], "--out: empty path"
    # --calls with a trace: the trace is replayed whole, another count is refused (not ignored)
    yield run[:2] + ["--calls", "1", "--trace", "{tmp}/two.csv"], "the trace has 2 calls"
    # paths the OS or Arrow cannot take: too long, not UTF-8 (argv of a non-UTF-8 name)
    yield run + ["--out", "{tmp}/" + "a" * 300 + ".parquet"], "File name too long"
    yield run + ["--out", "{tmp}/\udcff.parquet"], "not valid UTF-8"
    yield run + ["--trace", "{tmp}/\udcff.csv"], "not valid UTF-8"
    yield ["history", "{asv}", "--out", "{tmp}/\udcffh.parquet"], "not valid UTF-8"
    yield ["sweep", "--quiet", "--grid", "bulk_size=1", "--calls", "20", "--out", "{tmp}/\udcffsw"], "UTF-8"
    yield ["history", "{asv}", "--out", "{tmp}/" + "b" * 300 + ".parquet"], "too long"
    long = "{tmp}/" + "c" * 300
    yield ["sweep", "--quiet", "--grid", "bulk_size=1", "--calls", "20", "--out", long], "too long"
    yield ["report", "{tmp}/summary.parquet", "--out", long], "too long"
    yield ["report", long, "--out", "{tmp}/rep"], "too long"
    yield ["compare", long + ".parquet"], "too long"
    yield ["history", long, "--out", "{tmp}/h.parquet"], "too long"
    yield run + ["--trace", long + ".csv"], "too long"
    yield run + ["--set", "trace=" + long + ".csv"], "too long"
    yield from _overflow_cases(run)
    yield from _resource_cases(run)
    yield from _output_cases(run)
    yield from _sweep_cases()
    yield from _reader_cases()


def _overflow_cases(run):
    """Integers beyond int64 or beyond the kernels' bounds: one line, never a traceback."""
    huge = "9" * 30
    for key in ("calls", "memcg_max_pages", "ancestor_max_pages", "pagecache_pages", "reclaim_pages",
                "live_objects", "cpus", "run_cap_bytes", "barn_max_full", "objs_per_slab"):
        yield ["run", "--quiet", "--set", f"{key}={huge}"], key
    yield ["run", "--quiet", "--set", "calls=1_000_000_000_001"], "calls"
    yield ["run", "--quiet", "--set", "reclaim_retries=1025"], "reclaim_retries"
    yield ["run", "--quiet", "--set", f"reclaim_retries={huge}"], "reclaim_retries"
    yield ["run", "--quiet", "--set", "memcg_max_pages=1099511627777"], "memcg_max_pages"
    yield ["run", "--quiet", "--set", "calls=" + "1" * 5000], "calls"
    yield ["run", "--quiet", "--calls", huge], "calls"
    yield run + ["--seed", huge], "seed"
    yield run + ["--seed", "-1"], "seed"
    yield run + ["--chunk-calls", huge], "chunk size"
    yield run + ["--check-every", huge], "check interval"
    yield run + ["--set", "name=../escape"], "name"
    yield run + ["--set", "name=a/b"], "name"
    yield run + ["--set", "name="], "name"
    yield run + ["--set", "name=.hidden"], "name"


def _resource_cases(run):
    """Documented-valid parameters whose state or single call is too large."""
    yield run + ["--max-memory", "1K"], "memory budget"
    yield run + ["--max-memory", "lots"], "--max-memory"
    yield run + ["--max-memory", "0"], "--max-memory"
    yield run + ["--max-memory", "-5G"], "--max-memory"
    big = ["--set", "cpus=1024", "--set", "nodes=64", "--set", "barn_max_full=1024",
           "--set", "sheaf_capacity=1024"]
    yield run + big + ["--max-memory", "2G"], "slab table"
    yield run + ["--set", "live_objects=50000000", "--calls", "4000000", "--max-memory", "1G"], "live_objects"
    yield run + ["--detail", "calls", "--out", "{tmp}/d.parquet", "--calls", "900000",
                 "--max-memory", "64M"], "per-call detail"
    yield run + ["--set", "memcg_max_pages=1", "--set", "gfp_nofail=1", "--set", "bulk_size=65536",
                 "--set", "reclaim_retries=1024", "--set", "depth=16"], "one call could run for seconds"
    yield (["sweep", "--quiet", "--grid", "bulk_size=1,2", "--workers", "2", "--max-memory", "300K",
            "--calls", "20", "--out", "{tmp}/sw"], "points at once")


def _output_cases(run):
    yield run + ["--out", "{tmp}/folder.parquet"], "is a folder"
    yield run + ["--out", "{tmp}/folder.parquet", "--force"], "is a folder"
    yield run + ["--out", "{tmp}/folder.parquet", "--detail", "runs"], "is a folder"
    yield run + ["--out", "{tmp}/x.parquet", "--detail", "calls", "--set", "bulk_size=0"], "bulk_size"
    yield run + ["--out", "{tmp}/x.parquet", "--strategies", "nope"], "unknown strategy"
    # a sidecar's name: its own units sidecar would be v.units.units.parquet, and it
    # would replace the sidecar of the run written to v.parquet
    for kind in ("units", "calls", "runs"):
        yield run + ["--out", "{tmp}/v." + kind + ".parquet"], "sidecar of another run"
    yield ["history", "{asv}", "--out", "{tmp}/folder.parquet", "--force"], "is a folder"
    yield ["report", "{tmp}/summary.parquet", "--out", "{tmp}/summary.parquet"], "not a folder"
    yield ["sweep", "--quiet", "--grid", "bulk_size=1", "--calls", "20", "--out", "/proc/bulksim-x"], "cannot write"
    yield ["report", "{tmp}/summary.parquet", "--out", "/proc/bulksim-rep"], "cannot write"
    # --force replaces only a report folder: never the input, a folder holding it, other data
    yield ["report", "{tmp}/summary.parquet", "--out", "{tmp}", "--force"], "never replaces its input"
    yield ["report", "{tmp}/badsweep", "--out", "{tmp}/badsweep", "--force"], "rerun the sweep"
    yield ["report", "{tmp}/summary.parquet", "--out", "{tmp}/asv", "--force"], "not a bulksim report"


def _sweep_cases():
    sweep = ["sweep", "--quiet", "--calls", "20", "--out", "{tmp}/sw"]
    yield sweep + ["--grid", "bulk_size=1,0"], "bulk_size"
    yield sweep + ["--grid", "nodes=1,65"], "nodes"
    yield sweep + ["--grid", "bulk_size=1,1"], "twice"
    yield sweep + ["--grid", "bulk_size=1,0x1"], "twice"
    yield sweep + ["--grid", "get_many=true,yes"], "twice"
    yield sweep + ["--grid", "bulk_size=1", "--workers", "0"], "--workers"
    yield sweep + ["--grid", "bulk_size=1", "--workers", "-3"], "--workers"
    yield sweep + ["--grid", "bulk_size=1", "--workers", "99999"], "--workers"
    yield sweep + ["--grid", "bulk_size=1", "--seeds", "100000000000"], "--seeds"
    yield sweep + ["--grid", "bulk_size=1", "--seeds", "9" * 40], "--seeds"
    yield sweep + ["--grid", "bulk_size=1", "--seeds", "3,3"], "twice"
    yield sweep + ["--grid", "bulk_size=1", "--seeds", "-1"], "--seeds"
    yield sweep + ["--grid", "bulk_size=1", "--seeds", "0"], "--seeds"
    yield sweep + ["--grid", "bulk_size=1", "--set", "name=../../escape"], "name"
    yield sweep + ["--grid", "bulk_size=1", "--set", "name=x/y"], "name"
    yield sweep + ["--grid", "bulk_size=1", "--set", "reclaim_retries=1e9"], "reclaim_retries"
    yield sweep + ["--grid", "calls=1,99999999999999999999999"], "calls"
    # the scheduler (and Dask) are checked before --out is created
    yield sweep + ["--grid", "bulk_size=1", "--scheduler", "bogus"], "not a Dask scheduler address"
    yield sweep + ["--grid", "bulk_size=1", "--scheduler", "x:y"], "not a Dask scheduler address"
    yield sweep + ["--grid", "bulk_size=1", "--scheduler", "local:0"], "local:N"
    yield sweep + ["--grid", "bulk_size=1", "--scheduler", "local:x"], "local:N"
    yield sweep + ["--grid", "bulk_size=1", "--scheduler", ""], "empty"
    yield sweep + ["--grid", "bulk_size=" + ",".join(str(k) for k in range(1, 1101)),
                   "--grid", "live_objects=" + ",".join(str(k) for k in range(1000)),
                   "--seeds", "2"], "points"


def _reader_cases():
    yield ["compare", "{tmp}/foreign.parquet"], "strategy"
    yield ["compare", "{tmp}/junk.parquet"], "cannot read"
    yield ["report", "{tmp}/junk.parquet", "--out", "{tmp}/rep"], "cannot read"
    yield ["report", "{tmp}/foreign.parquet", "--out", "{tmp}/rep"], "not a bulksim summary"
    yield ["report", "{tmp}/typed.parquet", "--out", "{tmp}/rep"], "not a bulksim summary"
    yield ["report", "{tmp}/badsweep", "--out", "{tmp}/rep"], "rerun the sweep"
    yield ["compare", "{tmp}/badsweep"], "rerun the sweep"
    yield ["history", "{asv}", "--out", "{tmp}/h.parquet"], "malformed asv result"
    yield ["history", "{tmp}/asv_list", "--out", "{tmp}/h.parquet"], "benchmarks.json"
    # hand-made asv files that used to overflow, recurse, exhaust memory or hang
    for kind, words in [("date", "out of range"), ("nested", "nested too deeply"),
                        ("long_param", "characters"), ("combos", "combinations"),
                        ("many_params", "parameters"), ("devzero", "not a regular file"),
                        ("fifo", "not a regular file")]:
        yield ["history", "{tmp}/asv_" + kind, "--out", "{tmp}/h.parquet"], words
    yield ["run", "--quiet", "--calls", "20", "--trace", "{tmp}/junk.parquet"], "cannot read"
    # a path that does not lead to a file says why (it used to say "no such file")
    yield ["compare", "{tmp}/loop_a.parquet"], "a loop of symbolic links"
    yield ["report", "{tmp}/loop_a.parquet", "--out", "{tmp}/rep"], "a loop of symbolic links"
    yield ["run", "--quiet", "--calls", "20", "--trace", "{tmp}/loop_a.parquet"], "a loop of symbolic links"
    yield ["compare", "{tmp}/dangling.parquet"], "a symbolic link to nothing"
    yield ["run", "--quiet", "--calls", "20", "--trace", "{tmp}/foreign.parquet"], "missing column"


CASES = list(_cases())


def test_there_are_at_least_a_hundred_cases():
    assert len(CASES) >= 100


def _fixtures(tmp_path):
    """Inputs the cases refer to: foreign, malformed and damaged files and folders."""
    import json
    import shutil
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "empty.csv").write_text(EMPTY_TRACE)
    (tmp_path / "two.csv").write_text(EMPTY_TRACE + "0,0,0,1\n0,1,0,1\n1,0,0,1\n")
    (tmp_path / "folder.parquet").mkdir()
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "foreign.parquet")
    pq.write_table(pa.table({"strategy": ["x"], "total_cycles_per_object": ["12"]}),
                   tmp_path / "typed.parquet")
    pq.write_table(pa.table({"strategy": ["x"], "total_cycles_per_object": [1.0]}),
                   tmp_path / "summary.parquet")
    bad = tmp_path / "badsweep"
    (bad / "scenario=default" / "strategy=batched").mkdir(parents=True)
    (bad / "_sweep.json").write_text(json.dumps({"grid": {"bulk_size": [1]}}))
    (bad / "scenario=default" / "strategy=batched" / "point-0123.parquet").write_bytes(b"truncated")
    asv = tmp_path / "asv"
    shutil.copytree(Path(__file__).parent / "fixtures" / "asv_results", asv)
    result = next((asv / "bulksim-2core").glob("155*.json"))
    d = json.loads(result.read_text())
    d["date"] = "yesterday"
    result.write_text(json.dumps(d))
    _asv_variants(tmp_path, asv)
    (tmp_path / "asv_list").mkdir()
    (tmp_path / "asv_list" / "benchmarks.json").write_text("[1, 2]")
    (tmp_path / "loop_a.parquet").symlink_to(tmp_path / "loop_b.parquet")
    (tmp_path / "loop_b.parquet").symlink_to(tmp_path / "loop_a.parquet")
    (tmp_path / "dangling.parquet").symlink_to(tmp_path / "not-there.parquet")


def _asv_variants(tmp_path, asv):
    import json
    import os
    import shutil
    from pathlib import Path

    src = Path(__file__).parent / "fixtures" / "asv_results"
    for kind in ("date", "nested", "long_param", "combos", "many_params", "devzero", "fifo"):
        dst = tmp_path / f"asv_{kind}"
        shutil.copytree(src, dst)
        result = next((dst / "bulksim-2core").glob("155*.json"))
        d = json.loads(result.read_text())
        name = next(iter(d["results"]))
        rec = d["results"][name]
        if kind == "date":
            d["date"] = 1e20
        elif kind == "long_param":
            rec[1] = [["-" * 200000 + "1"]]
        elif kind == "combos":
            rec[1] = [[str(v) for v in range(40)]] * 8
        elif kind == "many_params":
            rec[1] = [["1"]] * 40
        if kind == "nested":
            result.write_text("[" * 100000)
        elif kind == "devzero":
            result.unlink()
            result.symlink_to("/dev/zero")
        elif kind == "fifo":
            result.unlink()
            os.mkfifo(result)
        else:
            result.write_text(json.dumps(d))


def _listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("argv, words", CASES, ids=[" ".join(a[1:])[:60] for a, _ in CASES])
def test_bad_input(argv, words, tmp_path, capsys):
    _fixtures(tmp_path)
    before = _listing(tmp_path)
    argv = [a.replace("{asv}", str(tmp_path / "asv")) for a in argv]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert words in err, err
    assert _listing(tmp_path) == before  # nothing created, nothing left half-written


def test_existing_output_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    out.write_bytes(b"precious")
    assert cli.main(["run", "--quiet", "--calls", "20", "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"


def test_unwritable_folder(capsys):
    # /proc refuses new files even to root, so this holds wherever the tests run.
    assert cli.main(["run", "--quiet", "--calls", "20", "--out", "/proc/bulksim-test.parquet"]) == 2
    assert "cannot write" in capsys.readouterr().err


# -- foreign variants of a real summary: each is bad input, one line, nothing written ------

@pytest.fixture(scope="module")
def real_summary(tmp_path_factory):
    d = tmp_path_factory.mktemp("real")
    assert cli.main(["run", "--quiet", "--calls", "20", "--out", str(d / "s.parquet")]) == 0
    import pyarrow.parquet as pq

    return pq.read_table(d / "s.parquet")


def _variant(t, kind):
    import pyarrow as pa

    if kind == "no rows":
        return t.slice(0, 0)
    if kind == "no schema metadata":
        return t.replace_schema_metadata(None)
    d = t.to_pydict()
    if kind == "newline in a strategy":
        d["strategy"] = ["a\nb\x1b[31m"] + d["strategy"][1:]
    elif kind == "null total":
        d["total_cycles_per_object"] = [None] + d["total_cycles_per_object"][1:]
    return pa.table(d).replace_schema_metadata(t.schema.metadata)


VARIANTS = [("report", "no rows", "no rows"), ("report", "no schema metadata", "records no scenario"),
            ("report", "null total", "missing values"), ("compare", "newline in a strategy", "a\\nb"),
            ("report", "newline in a strategy", "not a strategy name")]


@pytest.mark.parametrize("cmd, kind, words", VARIANTS, ids=[f"{c} {k}" for c, k, _ in VARIANTS])
def test_foreign_summary_variant(real_summary, tmp_path, capsys, cmd, kind, words):
    import pyarrow.parquet as pq

    src = tmp_path / "v.parquet"
    pq.write_table(_variant(real_summary, kind), src)
    before = _listing(tmp_path)
    argv = [cmd, str(src)] + (["--out", str(tmp_path / "rep")] if cmd == "report" else [])
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert "\x1b" not in err
    assert _listing(tmp_path) == before
