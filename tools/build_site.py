"""Build the asv performance-history website so that it renders with no network.

    python tools/build_site.py [--config asv.conf.json] [--html-dir DIR]

`asv publish` writes pages that load jQuery, flot, bootstrap, stupidtable and md5 from
CDNs; offline they fail and asv shows "Can not determine continental origin of
swallow". This script runs `asv publish`, installs the same libraries from the npm
registry by name (versions pinned in tools/site/package.json and its lock file, into a
cache folder, never into git), copies them into the site's vendor/ folder and points
every page at those copies. It also writes one page per benchmarked commit under
commits/, which is where the site's commit links (asv.conf.json show_commit_url) lead.

The build fails when a page still loads a script or style from elsewhere.
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


def _git(*args: str, repo: Path) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def write_commit_pages(html_dir: Path, repo: Path, hash_length: int = 8) -> int:
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
        text = ("<!doctype html><html><head><meta charset='utf-8'>"
                f"<title>commit {h[:8]}</title></head><body>"
                "<p><a href='../../index.html'>performance history</a></p>"
                f"<pre>{html.escape(show)}</pre></body></html>\n")
        # asv links full hashes from the graphs and short ones (hash_length) from the lists
        for name in {h, h[:hash_length]}:
            page = out / name / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(text)
        n += 1
    return n


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
    cmd = [asv, "publish", "--no-pull", "--config", str(config), "--html-dir", str(out)]
    proc = subprocess.run(cmd, cwd=config.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SiteError(f"asv publish failed:\n{proc.stdout}{proc.stderr}")
    modules = install_assets()
    localise_site(out, modules)
    repo = (config.parent / conf.get("repo", ".")).resolve()
    write_commit_pages(out, repo, int(conf.get("hash_length", 8)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "asv.conf.json"))
    ap.add_argument("--html-dir", default=None, help="default: html_dir of the asv config")
    args = ap.parse_args(argv)
    try:
        out = build(Path(args.config).resolve(), Path(args.html_dir) if args.html_dir else None)
    except SiteError as e:
        print(f"build_site: {e}", file=sys.stderr)
        return 2
    print(f"site built in {out}; view it with: python -m http.server -d {out} 8080 (then http://127.0.0.1:8080)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
