"""Build the asv performance-history website so that it renders with no network.

    python tools/build_site.py [--config asv.conf.json] [--html-dir DIR]
    python tools/build_site.py --fill-machine-params   # see below; then build

`asv publish` writes pages that load jQuery, flot, bootstrap, stupidtable and md5 from
CDNs; offline they fail and asv shows "Can not determine continental origin of
swallow". This script runs `asv publish`, installs the same libraries from the npm
registry by name (versions pinned in tools/site/package.json and its lock file, into a
cache folder, never into git), copies them into the site's vendor/ folder and points
every page at those copies. It also writes one page per benchmarked commit under
commits/, which is where the site's commit links (asv.conf.json show_commit_url) lead.

The build fails when a page still loads a script or style from elsewhere, and when the
results of one machine disagree on its details (asv draws every distinct set of machine
details as a series of its own, so one machine's history would be split in two);
``--fill-machine-params`` writes the details of ``<machine>/machine.json`` into each of
that machine's result files (docs/performance-history.md, "One machine, one series").

After ``asv publish`` the site is made to explain itself: the notes of
``history_notes`` in asv.conf.json (a machine change, an intended model change) go on
the front page and on their commits' pages, and a thumbnail whose benchmark has results
at only one commit draws that point instead of an empty box, and says so; one without
any results (a new benchmark) says that where asv would leave only its title.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "site"

# asv's CDN URL (by its tail) -> file in the npm packages -> name under vendor/
VENDOR = [
    ("jquery-3.3.1.min.js", "jquery/dist/jquery.min.js"),
    ("flot/0.8.3/jquery.flot.min.js", "flot/jquery.flot.js"),
    ("flot/0.8.3/jquery.flot.time.min.js", "flot/jquery.flot.time.js"),
    ("flot/0.8.3/jquery.flot.selection.min.js", "flot/jquery.flot.selection.js"),
    ("flot/0.8.3/jquery.flot.categories.min.js", "flot/jquery.flot.categories.js"),
    ("js/jquery.flot.orderBars.js", "flot-orderbars/js/jquery.flot.orderBars.js"),
    ("stupidtable.min.js", "stupid-table-plugin/stupidtable.min.js"),
    ("js/md5.min.js", "blueimp-md5/js/md5.min.js"),
    ("bootstrap@3.1.1/dist/js/bootstrap.min.js", "bootstrap/dist/js/bootstrap.min.js"),
    ("bootstrap@3.1.1/dist/css/bootstrap.min.css", "bootstrap/dist/css/bootstrap.min.css"),
]
# bootstrap's css loads its icon font from ../fonts/ relative to itself
VENDOR_DIRS = [("bootstrap/dist/fonts", "bootstrap/dist/fonts")]

_EXTERNAL_TAG = re.compile(r'<(script|link)\b[^>]*?\b(?:src|href)="(https?:)?//[^"]*"[^>]*>', re.I)


class SiteError(Exception):
    pass


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bulksim" / "site-assets"


def install_assets() -> Path:
    """npm-install the pinned packages into the cache (once per lock file); return node_modules."""
    lock = (ASSETS / "package-lock.json").read_bytes()
    dest = cache_dir()
    stamp = dest / "package-lock.json"
    modules = dest / "node_modules"
    if stamp.exists() and stamp.read_bytes() == lock and modules.is_dir():
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError("npm is not installed (Debian: apt-get install npm); it fetches the site's scripts")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ASSETS / "package.json", dest / "package.json")
    shutil.copy(ASSETS / "package-lock.json", dest / "package-lock.json.new")
    os.replace(dest / "package-lock.json.new", stamp)
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                          cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:
        stamp.unlink(missing_ok=True)
        raise SiteError(f"npm ci failed in {dest}:\n{proc.stdout}{proc.stderr}")
    return modules


def _localise(text: str) -> str:
    """Point each CDN <script>/<link> at its copy under vendor/, without integrity checks."""
    def repl(m):
        tag = m.group(0)
        for tail, local in VENDOR:
            if re.search(r'(?:src|href)="[^"]*' + re.escape(tail) + '"', tag):
                tag = re.sub(r'((?:src|href)=")[^"]*(")', r"\g<1>vendor/" + local + r"\2", tag)
                tag = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", tag)
                return tag
        return tag

    return _EXTERNAL_TAG.sub(repl, text)


MACHINE_KEYS = ("arch", "cpu", "machine", "num_cpu", "os", "ram")


def _result_files(machine_dir: Path) -> list[Path]:
    return sorted(p for p in machine_dir.glob("*.json") if p.name != "machine.json")


def machine_param_problems(results_dir: Path) -> list[str]:
    """One line per result file whose machine details differ from its machine.json."""
    problems = []
    for mfile in sorted(Path(results_dir).glob("*/machine.json")):
        want = {k: v for k, v in json.loads(mfile.read_text()).items() if k in MACHINE_KEYS}
        for res in _result_files(mfile.parent):
            params = json.loads(res.read_text()).get("params", {})
            got = {k: params.get(k) for k in MACHINE_KEYS if k in params or k in want}
            diff = [f"{k}={got.get(k)!r} (machine.json: {want.get(k)!r})"
                    for k in sorted(set(want) | set(got)) if got.get(k) != want.get(k)]
            if diff:
                problems.append(f"{res.relative_to(results_dir)}: {', '.join(diff)}")
    return problems


def fill_machine_params(results_dir: Path) -> int:
    """Write each machine.json's details into the params of that machine's result files;
    the number of files changed.  Only for results that really come from that machine."""
    changed = 0
    for mfile in sorted(Path(results_dir).glob("*/machine.json")):
        want = {k: v for k, v in json.loads(mfile.read_text()).items() if k in MACHINE_KEYS}
        for res in _result_files(mfile.parent):
            data = json.loads(res.read_text())
            params = data.get("params", {})
            new = {**{k: v for k, v in params.items() if k not in MACHINE_KEYS}, **want}
            if new != params:
                # machine keys first, as asv writes them
                data["params"] = {**dict(sorted(want.items())),
                                  **{k: v for k, v in params.items() if k not in MACHINE_KEYS}}
                res.write_text(json.dumps(data, separators=(", ", ": ")))
                changed += 1
    return changed


def _git(*args: str, repo: Path) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def write_commit_pages(html_dir: Path, repo: Path, hash_length: int = 8,
                       notes: dict[str, str] | None = None) -> int:
    """One page per commit that has results, at commits/<hash>/index.html (full and short hash)."""
    index = json.loads((html_dir / "index.json").read_text())
    hashes = set(index.get("revision_to_hash", {}).values())
    out = html_dir / "commits"
    n = 0
    for h in sorted(hashes):
        try:
            show = _git("show", "--stat", "--format=commit %H%nAuthor: %an%nDate:   %aI%n%n%B", h, repo=repo)
        except subprocess.CalledProcessError:
            show = f"commit {h}\n\n(not in this clone's history)\n"
        note = next((v for k, v in (notes or {}).items() if h.startswith(k) or k.startswith(h)), None)
        note_html = f"<p><b>Note on this commit's results:</b> {html.escape(note)}</p>" if note else ""
        text = ("<!doctype html><html><head><meta charset='utf-8'>"
                f"<title>commit {h[:8]}</title></head><body>"
                "<p><a href='../../index.html'>performance history</a></p>"
                f"{note_html}<pre>{html.escape(show)}</pre></body></html>\n")
        # asv links full hashes from the graphs and short ones (hash_length) from the lists
        for name in {h, h[:hash_length]}:
            page = out / name / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(text)
        n += 1
    return n


def thumbnail_notes(html_dir: Path) -> dict[str, str]:
    """For each benchmark whose grid thumbnail would mislead, the reason, in words.

    asv's thumbnail is the geometric mean, commit by commit, over every parameter
    combination and machine: a benchmark with results at one commit draws no line (an
    empty box), and one whose series include a real 0 draws 0 (a flat line at the
    bottom)."""
    index = json.loads((html_dir / "index.json").read_text())
    notes = {}
    for name in index["benchmarks"]:
        revs, zero_in_mean = set(), False
        for graph in (html_dir / "graphs").rglob(f"{name}.json"):
            if graph.parent.name == "summary":
                continue
            for rev, vals in json.loads(graph.read_text()):
                vals = vals if isinstance(vals, list) else [vals]
                real = [v for v in vals if v is not None and v == v]
                if real:
                    revs.add(rev)
                if any(v == 0 for v in real) and any(v != 0 for v in real):
                    zero_in_mean = True
        if not revs:
            notes[name] = "no results yet (new, or its version changed): the next asv run draws it"
        elif len(revs) == 1:
            notes[name] = "results at one commit so far: one point"
        elif zero_in_mean:
            notes[name] = "at 0: some series are 0 (thumbnail = geometric mean)"
    return notes


# The thumbnail's flot options in asv's summarygrid.js, and what replaces them: points
# where a series has too few to draw a line, and the note of thumbnail_notes under the title.
_GRID_OPTIONS = "var options = {\n                    colors: $.asv.colors,\n                    series: {\n                        lines: {\n                            show: true,\n                            lineWidth: 2\n                        },"
_GRID_PATCH = ("if (window.BULKSIM_THUMB_NOTES && BULKSIM_THUMB_NOTES[bm.name]) {\n"
               "                    plot_div.after($('<div class=\"bulksim-thumb-note\"/>').text(BULKSIM_THUMB_NOTES[bm.name]));\n"
               "                }\n"
               "                var few_max = data.length < 3 ? 1.6 * Math.max.apply(null, data.map(function (d) { return d[1]; })) : null;\n"
               "                var options = {\n                    colors: $.asv.colors,\n                    series: {\n"
               "                        points: {show: data.length < 3, radius: 4},\n"
               "                        lines: {\n                            show: true,\n                            lineWidth: 2\n                        },")
# asv leaves a benchmark without any results (no graphs/summary file) as a bare title; its
# note (thumbnail_notes: "no results yet") goes where the box would be.
_GRID_FAIL = "}).fail(function() {\n                // TODO: Handle failure\n            });"
_GRID_FAIL_PATCH = ("}).fail(function() {\n"
                    "                if (window.BULKSIM_THUMB_NOTES && BULKSIM_THUMB_NOTES[bm.name]) {\n"
                    "                    plot_div.addClass('bulksim-no-results');\n"
                    "                    plot_div.after($('<div class=\"bulksim-thumb-note\"/>').text(BULKSIM_THUMB_NOTES[bm.name]));\n"
                    "                }\n"
                    "            });")


def explain_site(html_dir: Path, notes: dict[str, str], repo: Path, hash_length: int = 8) -> None:
    """The history notes on the front page (and the regressions page), the thumbnail notes
    and points in the grid (see the module docstring)."""
    grid = html_dir / "summarygrid.js"
    text = grid.read_text()
    if _GRID_OPTIONS not in text:
        raise SiteError(f"{grid}: asv's thumbnail options are not where this script expects them "
                        "(another asv version?): update _GRID_OPTIONS")
    text = text.replace(_GRID_OPTIONS, _GRID_PATCH, 1)
    if _GRID_FAIL not in text:
        raise SiteError(f"{grid}: asv's failed-thumbnail handler is not where this script expects it "
                        "(another asv version?): update _GRID_FAIL")
    text = text.replace(_GRID_FAIL, _GRID_FAIL_PATCH, 1)
    # a lone point in the middle of its box, not on the top edge under the note
    ymin = "yaxis: {\n                        ticks: [],\n                        min: 0\n                    },"
    if ymin not in text:
        raise SiteError(f"{grid}: asv's thumbnail y axis is not where this script expects it")
    text = text.replace(ymin, "yaxis: {\n                        ticks: [],\n                        min: 0,\n"
                              "                        max: few_max > 0 ? few_max : null\n                    },", 1)
    grid.write_text(text)
    (html_dir / "bulksim-notes.js").write_text(
        "window.BULKSIM_THUMB_NOTES = " + json.dumps(thumbnail_notes(html_dir), sort_keys=True) + ";\n")
    items = []
    for commit, note in sorted(notes.items(), key=lambda kv: _commit_date(kv[0], repo)):
        short = commit[:hash_length]
        date = _commit_date(commit, repo)[:10]
        items.append(f"<li><a href='commits/{short}/'>{short}</a> {html.escape(date)}: {html.escape(note)}</li>")
    banner = ("<div class='bulksim-history-notes'><b>Reading this history.</b> One machine, "
              "<code>bulksim-2core</code> (2 shared cores: timings vary by up to ~10% between runs). "
              "Steps that are not regressions of the code:<ul>" + "".join(items) + "</ul>"
              "Model tracks start over where a benchmark's <code>version</code> changed; see "
              "docs/performance-history.md.</div>")
    style = ("<style>.bulksim-history-notes{margin:8px 12px;padding:6px 10px;border:1px solid #ccc;"
             "background:#fafae8;font-size:13px}.bulksim-history-notes ul{margin:2px 0}"
             ".bulksim-thumb-note{font-size:10px;color:#a33;text-align:center;height:0;white-space:normal;"
             "position:relative;top:-30px}.bulksim-no-results{border:1px dashed #bbb}</style>")
    index = html_dir / "index.html"
    page = index.read_text()
    for anchor in ('<div id="summarygrid-display" style="position: absolute; left: 0; top: 55px; width: 100%; height: 100%">',
                   '<div id="regressions-display" style="position: absolute; left: 0; top: 55px; width: 100%; height: 100%">'):
        if anchor not in page:
            raise SiteError(f"{index}: {anchor[:40]}... not found (another asv version?)")
        page = page.replace(anchor, anchor + "\n" + banner, 1)
    page = page.replace("</head>", style + "\n<script src='bulksim-notes.js'></script>\n</head>", 1)
    index.write_text(page)


def _commit_date(commit: str, repo: Path) -> str:
    try:
        return _git("log", "-1", "--format=%cI", commit, repo=repo).strip()
    except subprocess.CalledProcessError:
        return ""


def localise_site(html_dir: Path, modules: Path) -> list[Path]:
    vendor = html_dir / "vendor"
    for _, local in VENDOR:
        src = modules / local
        if not src.exists():
            raise SiteError(f"{src}: missing from the installed npm packages")
        (vendor / local).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, vendor / local)
    for src, dst in VENDOR_DIRS:
        shutil.copytree(modules / src, vendor / dst, dirs_exist_ok=True)
    pages = sorted(html_dir.glob("*.html"))
    for page in pages:
        text = _localise(page.read_text())
        left = [m.group(0) for m in _EXTERNAL_TAG.finditer(text)]
        if left:
            raise SiteError(f"{page}: still loads from the network: {left[0]}")
        page.write_text(text)
    return pages


def build(config: Path, html_dir: Path | None = None) -> Path:
    conf_text = re.sub(r"^\s*//.*$", "", config.read_text(), flags=re.M)
    conf = json.loads(conf_text)
    out = Path(html_dir) if html_dir else (config.parent / conf.get("html_dir", "html"))
    asv = shutil.which("asv", path=os.path.dirname(sys.executable)) or shutil.which("asv")
    if asv is None:
        raise SiteError("asv is not installed ('make setup' installs it)")
    results = config.parent / conf.get("results_dir", "results")
    problems = machine_param_problems(results)
    if problems:
        raise SiteError("the results of one machine disagree on its details, so asv would draw its "
                        "history as separate series:\n  " + "\n  ".join(problems[:10])
                        + ("\n  ..." if len(problems) > 10 else "")
                        + "\nresults of another machine go under its own name; if they are this "
                        "machine's, run: python tools/build_site.py --fill-machine-params")
    cmd = [asv, "publish", "--no-pull", "--config", str(config), "--html-dir", str(out)]
    proc = subprocess.run(cmd, cwd=config.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SiteError(f"asv publish failed:\n{proc.stdout}{proc.stderr}")
    modules = install_assets()
    localise_site(out, modules)
    repo = (config.parent / conf.get("repo", ".")).resolve()
    notes = {_full_hash(k, repo): v for k, v in conf.get("history_notes", {}).items()}
    write_commit_pages(out, repo, int(conf.get("hash_length", 8)), notes)
    explain_site(out, notes, repo, int(conf.get("hash_length", 8)))
    return out


def _full_hash(commit: str, repo: Path) -> str:
    try:
        return _git("rev-parse", "--verify", "--quiet", commit + "^{commit}", repo=repo).strip()
    except subprocess.CalledProcessError:
        return commit


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "asv.conf.json"))
    ap.add_argument("--html-dir", default=None, help="default: html_dir of the asv config")
    ap.add_argument("--fill-machine-params", action="store_true",
                    help="write each results/<machine>/machine.json's details into that machine's "
                         "result files (only for results that come from that machine), then stop")
    args = ap.parse_args(argv)
    if args.fill_machine_params:
        conf = json.loads(re.sub(r"^\s*//.*$", "", Path(args.config).read_text(), flags=re.M))
        results = Path(args.config).resolve().parent / conf.get("results_dir", "results")
        print(f"build_site: machine details written into {fill_machine_params(results)} result file(s) "
              f"under {results}")
        return 0
    try:
        out = build(Path(args.config).resolve(), Path(args.html_dir) if args.html_dir else None)
    except SiteError as e:
        print(f"build_site: {e}", file=sys.stderr)
        return 2
    print(f"site built in {out}; view it with: python -m http.server -d {out} 8080 (then http://127.0.0.1:8080)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
