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
    yield run + ["--seed", "abc"], "--seed"
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
    yield ["run", "--frobnicate"], "unrecognized"


CASES = list(_cases())


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("argv, words", CASES, ids=[" ".join(a[1:])[:60] for a, _ in CASES])
def test_bad_input(argv, words, tmp_path, capsys):
    (tmp_path / "empty.csv").write_text(EMPTY_TRACE)
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


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
