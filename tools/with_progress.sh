#!/usr/bin/env bash
# Run a long command (pip install, ...) and print a line every 20 s while it runs, so that
# `make setup` piped into a log or run by CI is never silent for minutes (pip --quiet
# prints nothing). Usage: tools/with_progress.sh "what it is doing" COMMAND [ARG...]
# The command's output and exit status pass through unchanged.
set -u
what=$1
shift
start=$SECONDS
( while sleep "${PROGRESS_INTERVAL:-20}"; do
      echo "make: $what: still running ($((SECONDS - start)) s)"
  done ) &
beat=$!
"$@"
rc=$?
kill "$beat" 2>/dev/null
wait "$beat" 2>/dev/null
[ "$rc" -eq 0 ] && echo "make: $what: done in $((SECONDS - start)) s"
exit "$rc"
