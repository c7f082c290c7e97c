"""The asv website, built by tools/build_site.py from fixture results, in headless Chromium.

Chromium runs with every host name resolving to nothing but 127.0.0.1, so a page that
still loads a script from a CDN fails here as it would on a machine with no network.
A probe script injected into index.html records script errors and failed loads, and
reads the flot plot's series back, into a <pre id="probe"> that --dump-dom returns.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "asv_site"
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

sys.path.remove(str(ROOT / "tools"))

PROBE = """<script>
window.__errs = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  if (t && t !== window && (t.src || t.href)) { __errs.push('load failed: ' + (t.src || t.href)); }
  else { __errs.push(String(e.message) + ' at ' + e.filename + ':' + e.lineno); }
}, true);
setInterval(function () {
  if (!document.body) return;
  var el = document.getElementById('probe');
  if (!el) { el = document.createElement('pre'); el.id = 'probe'; el.style.display = 'none';
             document.body.appendChild(el); }
  var info = {errors: __errs, jquery: !!window.jQuery, plot: false, thumbs: {}};
  try {
    jQuery('.benchmark-plot').each(function () {
      var t = jQuery(this).data('plot');
      if (t) { info.thumbs[this.id.replace('summarygrid-', '')] = {
        points: !!t.getOptions().series.points.show, n: t.getData()[0].data.length,
        note: jQuery(this).next('.bulksim-thumb-note').text()}; }
    });
    info.notes = jQuery('.bulksim-history-notes').first().text();
  } catch (e) { __errs.push('probe: ' + e); }
  try {
    var p = window.jQuery && jQuery('#main-graph').data('plot');
    if (p) {
      info.plot = true;
      info.series = p.getData().map(function (s) {
        return {label: s.label, points: s.data.filter(function (d) { return d && d[1] !== null; }).length};
      });
    }
  } catch (e) { __errs.push('probe: ' + e); }
  el.textContent = JSON.stringify(info);
}, 100);
</script>
"""


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("headless Chromium is not installed (.ci/run installs it: apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    conf = {
        "version": 1, "project": "bulksim", "project_url": "index.html", "repo": str(ROOT),
        "dvcs": "git", "branches": ["HEAD"], "environment_type": "virtualenv",
        "benchmark_dir": str(ROOT / "benchmarks"), "results_dir": str(FIXTURE),
        "html_dir": str(tmp / "html"), "show_commit_url": "commits/",
        "history_notes": {"7331c53b": "machine: a note shown on the front page and the commit's page"},
    }
    config = tmp / "asv.conf.json"
    config.write_text(json.dumps(conf))
    out = build_site.build(config)
    index = out / "index.html"
    text = index.read_text()
    index.write_text(text.replace("<head>", "<head>\n" + PROBE, 1))

    handler = functools.partial(_QuietHandler, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield out, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _dump(url: str, tmp: Path) -> tuple[str, dict]:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           f"--user-data-dir={tmp / 'profile'}", "--window-size=1400,4000",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
           "--virtual-time-budget=15000", "--dump-dom", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    m = re.search(r'<pre id="probe"[^>]*>(.*?)</pre>', dom, re.S)
    assert m, f"probe missing: the page did not run its scripts or left index.html\n{dom[:2000]}"
    import html

    return dom, json.loads(html.unescape(m.group(1)))


def _fixture_commits():
    return {json.loads(p.read_text())["commit_hash"]
            for p in (FIXTURE / "bulksim-2core").glob("*.json") if p.name != "machine.json"}


def test_pages_load_nothing_from_the_network(site):
    out, _ = site
    for page in out.glob("*.html"):
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", page.read_text()):
            src = re.search(r'(?:src|href)="([^"]*)"', tag)
            if src:
                assert not re.match(r"(https?:)?//", src.group(1)), f"{page.name}: {tag}"
                assert (out / src.group(1)).exists(), f"{page.name}: {src.group(1)} not in the site"


def test_index_lists_the_benchmarks_with_no_script_errors(site, tmp_path):
    out, base = site
    dom, info = _dump(base + "/index.html", tmp_path)
    assert info["errors"] == [], info["errors"]
    assert info["jquery"]
    for name in ("CompileTime.track_cold_cache_seconds", "TimeSimulate.time_million_objects",
                 "ModelOutputs.track_hook_cycles_per_object", "PeakMemory.peakmem_run"):
        assert name in dom, name
    assert "continental origin" not in dom


def test_graph_page_draws_every_commit_of_a_series(site, tmp_path):
    out, base = site
    name = "bench_engine.TimeSimulate.time_million_objects"
    _, info = _dump(f"{base}/index.html#{name}", tmp_path)
    assert info["errors"] == [], info["errors"]
    assert info["plot"], "no flot plot in #main-graph"
    series = [s for s in info["series"] if s["points"]]
    # 4 strategies x 2 scenarios, each with one point per benchmarked commit: one machine,
    # one series each (results whose machine details disagree would split every series)
    assert len(series) == 8, info["series"]
    assert {s["points"] for s in series} == {len(_fixture_commits())}


def test_every_commit_link_of_the_list_page_leads_to_a_page(site, tmp_path):
    out, base = site
    dom, info = _dump(base + "/index.html#summarylist", tmp_path)
    assert info["errors"] == [], info["errors"]
    links = set(re.findall(r'href="(commits/[^"]+)"', dom))
    assert links, "no commit links on the benchmark list"
    for link in links:
        assert (out / link / "index.html").exists(), link


def test_machine_details_and_commit_pages(site):
    out, _ = site
    index = json.loads((out / "index.json").read_text())
    machine = index["machines"]["bulksim-2core"]
    for key in ("cpu", "num_cpu", "ram", "os", "arch"):
        assert machine.get(key), key
    assert index["show_commit_url"] == "commits/"
    for h in _fixture_commits():
        page = out / "commits" / h / "index.html"
        assert page.exists(), h
        assert h in page.read_text()
    subject = subprocess.run(["git", "log", "-1", "--format=%s", "569d9d22"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    page = next((out / "commits").glob("569d9d22*/index.html"))
    assert subject.split()[0] in page.read_text()


def test_build_fails_when_a_page_would_still_load_from_a_cdn(tmp_path):
    (tmp_path / "index.html").write_text(
        '<html><head><script src="https://cdn.example.invalid/unknown-lib.js"></script></head></html>')
    modules = build_site.install_assets()
    with pytest.raises(build_site.SiteError, match="still loads from the network"):
        build_site.localise_site(tmp_path, modules)


def _regressions(conf: dict, tmp: Path) -> list[str]:
    config = tmp / "asv.conf.json"
    config.write_text(json.dumps(conf))
    out = build_site.build(config)
    return [r[0] for r in json.loads((out / "regressions.json").read_text())["regressions"]]


def test_intended_model_change_is_not_reported_as_a_regression(tmp_path):
    text = re.sub(r"^\s*//.*$", "", (ROOT / "asv.conf.json").read_text(), flags=re.M)
    conf = json.loads(text)
    conf.update(repo=str(ROOT), results_dir=str(ROOT / "results"), benchmark_dir=str(ROOT / "benchmarks"))
    conf["html_dir"] = str(tmp_path / "with")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert not [r for r in _regressions(conf, tmp_path / "a") if "ModelOutputs" in r]
    conf["regressions_first_commits"] = {}
    conf["html_dir"] = str(tmp_path / "without")
    flagged = [r for r in _regressions(conf, tmp_path / "b") if "ModelOutputs" in r]
    # the intended steps (tight_limit's retuning; issue 17's repricing) are what asv
    # reports without the entry
    assert flagged and any("tight_limit" in r for r in flagged), flagged


def test_committed_history_reports_no_unexplained_regression(tmp_path):
    """With asv.conf.json as committed no regression is open: each step is a listed model
    change (regressions_first_commits) or noise under the timing threshold; without the
    engine's entry, the one-pass kernel's step is what asv would report; the summary
    thumbnails of FreeOutputs are no longer pinned to 0 by none."""
    text = re.sub(r"^\s*//.*$", "", (ROOT / "asv.conf.json").read_text(), flags=re.M)
    conf = json.loads(text)
    conf.update(repo=str(ROOT), results_dir=str(ROOT / "results"), benchmark_dir=str(ROOT / "benchmarks"))
    conf["html_dir"] = str(tmp_path / "with")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _regressions(conf, tmp_path / "a") == []
    summary = tmp_path / "with" / "graphs" / "summary"
    for f in summary.glob("bench_model.FreeOutputs.*.json"):
        assert all(v > 0 for _, v in json.loads(f.read_text()) if v is not None), f.name
    conf["regressions_first_commits"] = {k: v for k, v in conf["regressions_first_commits"].items()
                                         if "bench_engine" not in k}
    conf["html_dir"] = str(tmp_path / "without")
    flagged = _regressions(conf, tmp_path / "b")
    assert flagged and all("TimeSimulate" in r for r in flagged), flagged


def test_front_page_explains_the_history_and_the_thumbnails(site, tmp_path):
    """The history notes (asv.conf.json history_notes) lead the front page; each thumbnail
    draws its series, and none is empty or flat for a reason the page does not say."""
    out, base = site
    dom, info = _dump(base + "/index.html", tmp_path)
    assert info["errors"] == [], info["errors"]
    assert "Reading this history" in info["notes"] and "a note shown on the front page" in info["notes"]
    assert info["thumbs"], "no thumbnail was drawn"
    for name, t in info["thumbs"].items():
        assert t["n"] >= 1, name  # never an empty box
        assert t["points"] == (t["n"] < 3), (name, t)  # few points: drawn as points
    page = next((out / "commits").glob("7331c53b*/index.html")).read_text()
    assert "Note on this commit's results:</b> machine: a note shown" in page


def test_one_commit_benchmarks_draw_a_point_and_say_so(tmp_path):
    """A benchmark with results at one commit: a point and the words, not an empty box."""
    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results)
    for f in sorted((results / "bulksim-2core").glob("*-virtualenv-*.json"))[1:]:
        f.unlink()
    conf = {"version": 1, "project": "bulksim", "project_url": "index.html", "repo": str(ROOT),
            "dvcs": "git", "branches": ["HEAD"], "environment_type": "virtualenv",
            "benchmark_dir": str(ROOT / "benchmarks"), "results_dir": str(results),
            "html_dir": str(tmp_path / "html"), "show_commit_url": "commits/"}
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    out = build_site.build(config)
    notes = build_site.thumbnail_notes(out)
    assert notes and all(v == "results at one commit so far: one point" for v in notes.values())
    handler = functools.partial(_QuietHandler, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        index = out / "index.html"
        index.write_text(index.read_text().replace("<head>", "<head>\n" + PROBE, 1))
        _, info = _dump(f"http://127.0.0.1:{httpd.server_address[1]}/index.html", tmp_path)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert info["errors"] == [], info["errors"]
    drawn = [t for t in info["thumbs"].values() if t["n"] == 1]
    assert drawn and all(t["points"] and "one commit" in t["note"] for t in drawn), info["thumbs"]


def test_results_of_one_machine_that_disagree_on_its_details_are_refused_then_filled(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results)
    one = sorted((results / "bulksim-2core").glob("*-virtualenv-*.json"))[0]
    data = json.loads(one.read_text())
    for k in ("cpu", "os", "ram"):
        data["params"].pop(k)
    one.write_text(json.dumps(data))
    problems = build_site.machine_param_problems(results)
    assert len(problems) == 1 and one.name in problems[0] and "cpu=None" in problems[0]
    conf = {"version": 1, "project": "bulksim", "repo": str(ROOT), "dvcs": "git", "branches": ["HEAD"],
            "environment_type": "virtualenv", "benchmark_dir": str(ROOT / "benchmarks"),
            "results_dir": str(results), "html_dir": str(tmp_path / "html")}
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    with pytest.raises(build_site.SiteError, match="would draw its history as separate series"):
        build_site.build(config)
    assert build_site.fill_machine_params(results) == 1
    assert build_site.machine_param_problems(results) == []
    out = build_site.build(config)
    index = json.loads((out / "index.json").read_text())
    assert all(len(v) == 1 for k, v in index["params"].items() if k in build_site.MACHINE_KEYS)


def test_committed_results_are_one_machine_and_free_outputs_track_something():
    """results/ as committed: every file agrees with machine.json (one series per
    benchmark); FreeOutputs' hook tracks skip none (no hook), so their summary is no 0."""
    assert build_site.machine_param_problems(ROOT / "results") == []
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.bench_model import FreeOutputs
    finally:
        sys.path.remove(str(ROOT))
    for name in ("track_hook_cycles_per_object", "track_free_hook_cycles_per_object",
                 "track_stock_locks_per_object", "track_stat_flushes_per_object"):
        skip = getattr(FreeOutputs, name).skip_params
        assert skip and all(key.startswith("none/") for _, key in skip), name
    assert not hasattr(FreeOutputs.track_total_cycles_per_object, "skip_params")  # none's baseline


def test_regressions_first_commits_name_commits_with_results():
    """asv resolves a regressions_first_commits commit without results to the newest
    benchmarked commit of the branch (rev-list --first-parent is newest first), so such an
    entry silently moves with every new result: each entry names a commit that has
    results, and the latest intended model change (issue 28's repricing at 3a83bc2e) is the
    model tracks' entry."""
    text = re.sub(r"^\s*//.*$", "", (ROOT / "asv.conf.json").read_text(), flags=re.M)
    conf = json.loads(text)
    recorded = {json.loads(p.read_text())["commit_hash"]
                for p in (ROOT / "results" / "bulksim-2core").glob("*-virtualenv-*.json")}
    entries = conf["regressions_first_commits"]
    assert entries
    for regex, commit in entries.items():
        assert commit in recorded, (regex, commit)
    model = [c for r, c in entries.items() if re.match(r, "bench_model.FreeOutputs.track_total_cycles_per_object")]
    assert model == ["3a83bc2ee1c5043dc0bbab8eadd9b438e20fc78e"], model
    assert any(re.match(r, "bench_model.ModelOutputs.track_hook_cycles_per_object") for r in entries)
    assert "3a83bc2e" in conf["history_notes"] and "not the engine's timings" in conf["history_notes"]["3a83bc2e"]


def test_issue_28_repricing_step_is_in_the_committed_model_tracks():
    """The committed results hold the step: 3a83bc2e has model tracks only (the engine's
    timings were not recorded on that host), its cycles fell from 699ca435's and its counts
    did not move."""
    def results(prefix):
        path = next((ROOT / "results" / "bulksim-2core").glob(prefix + "-virtualenv-*.json"))
        data = json.loads(path.read_text())
        return {k: dict(zip(data["result_columns"], v)) for k, v in data["results"].items()}

    old, new = results("699ca435"), results("3a83bc2e")
    assert new and all(k.startswith("bench_model.") for k in new), sorted(new)
    assert set(new) == set(old)
    key = "bench_model.ModelOutputs.track_hook_cycles_per_object"
    pairs = list(zip(old[key]["result"], new[key]["result"]))
    assert len(pairs) == 24 and all(b < a for a, b in pairs), pairs  # every preset x strategy
    assert pairs[0][0] > 2 * pairs[0][1]  # default/per_object: 61.1 -> 16.4 cycles/object
    for name in ("ModelOutputs.track_stock_locks_per_object", "GenerationOutputs.track_drains_per_object",
                 "ModelOutputs.track_stat_flushes_per_object"):
        assert old["bench_model." + name]["result"] == new["bench_model." + name]["result"], name


def test_benchmark_without_results_says_so_where_its_box_would_be(tmp_path):
    """A benchmark in benchmarks.json with no result at any commit (a new one, such as
    TimeToPrecision before its first run): asv leaves a bare title; the page says why."""
    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results)
    bench = json.loads((results / "benchmarks.json").read_text())
    name = next(k for k in bench if k != "version")
    new = name.rsplit(".", 1)[0] + ".track_not_run_yet"
    bench[new] = dict(bench[name], name=new)
    (results / "benchmarks.json").write_text(json.dumps(bench))
    conf = {"version": 1, "project": "bulksim", "project_url": "index.html", "repo": str(ROOT),
            "dvcs": "git", "branches": ["HEAD"], "environment_type": "virtualenv",
            "benchmark_dir": str(ROOT / "benchmarks"), "results_dir": str(results),
            "html_dir": str(tmp_path / "html"), "show_commit_url": "commits/"}
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    out = build_site.build(config)
    assert build_site.thumbnail_notes(out)[new].startswith("no results yet")
    assert not (out / "graphs" / "summary" / f"{new}.json").exists()
    handler = functools.partial(_QuietHandler, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        index = out / "index.html"
        index.write_text(index.read_text().replace("<head>", "<head>\n" + PROBE, 1))
        dom, info = _dump(f"http://127.0.0.1:{httpd.server_address[1]}/index.html", tmp_path)
    finally:
        httpd.shutdown()
        httpd.server_close()
    errors = [e for e in info["errors"] if f"summary/{new}.json" not in e]  # the 404 asv expects
    assert errors == [], errors
    m = re.search(r'id="summarygrid-' + re.escape(new) + r'"[^>]*>.*?</div>\s*<div class="bulksim-thumb-note">([^<]*)<',
                  dom, re.S)
    assert m and m.group(1).startswith("no results yet"), dom[dom.find(new) - 200:dom.find(new) + 600]
