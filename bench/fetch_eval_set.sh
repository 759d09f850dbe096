#!/bin/sh
# Fetch and prepare the evaluation set: the Tux Paint stamps (Debian package tuxpaint-stamps-default),
# clip-art PNGs in category folders, each with a sidecar .txt whose first line is an English caption and
# whose other lines are translations ("de.utf8=...", "fr.utf8=...", "ko.utf8=...").
# Usage: bench/fetch_eval_set.sh [OUT]   (default bench/data/tuxpaint-stamps; needs apt-get and dpkg-deb)
set -eu
OUT=${1:-bench/data/tuxpaint-stamps}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && apt-get download tuxpaint-stamps-default >/dev/null && dpkg-deb -x tuxpaint-stamps-default_*.deb x)
SRC="$WORK/x/usr/share/tuxpaint/stamps"
mkdir -p "$OUT"
# keep the stamps that have both a caption and a PNG (SVG-only stamps are skipped: Pillow can't read SVG)
(cd "$SRC" && find . -name '*.txt' | sort) | while read -r txt; do
    base=${txt%.txt}
    if [ -f "$SRC/$base.png" ]; then
        mkdir -p "$OUT/$(dirname "$base")"
        cp "$SRC/$base.png" "$SRC/$txt" "$OUT/$(dirname "$base")/"
    fi
done
echo "$(find "$OUT" -name '*.png' | wc -l) captioned images in $OUT"
