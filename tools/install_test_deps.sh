#!/usr/bin/env bash
# What the test suite needs besides Python packages: headless Chromium (the browser tests
# of the asv site), npm (tools/build_site.py installs the site's scripts with it), git, and
# perf (Debian linux-perf: the tests of bulksim measure record the running kernel with it).
# Installed from Debian with apt-get when missing (as root, or through sudo); nothing is
# done when they are there. `make test` and so .ci/run call this.
set -euo pipefail
need=()
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(npm)
command -v git >/dev/null || need+=(git)
command -v perf >/dev/null || need+=(linux-perf)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "make: the tests need ${need[*]}: install them with your package manager" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "make: installing ${need[*]} from Debian (apt-get; the browser and measure tests need them)"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
