#!/bin/sh
# Fetch the camera-photo set of issue #16's indexing figures: the JPEG photos of Debian's wallpaper
# (mate-backgrounds, plasma-workspace-wallpapers: the largest size of each), puzzle (palapeli-data),
# darknet and tuxpaint-data packages, the 70 largest, each copied three times (210 files; 0.2 to 18 MP).
# Usage: bench/fetch_camera_photos.sh [OUT]   (default /tmp/camera-photos; needs apt-get and dpkg-deb)
set -eu
OUT=${1:-/tmp/camera-photos}
PYTHON=${PYTHON:-python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && apt-get download mate-backgrounds plasma-workspace-wallpapers palapeli-data darknet tuxpaint-data \
    >/dev/null && for deb in *.deb; do dpkg-deb -x "$deb" x; done)
mkdir -p "$OUT"
"$PYTHON" - "$WORK/x/usr/share" "$OUT" <<'EOF'
import shutil, statistics, sys
from pathlib import Path
from PIL import Image

share, out = Path(sys.argv[1]), Path(sys.argv[2])
found = {}  # one file per picture: a plasma wallpaper comes in many sizes, the largest is kept
for path in sorted(share.rglob("*")):
    if not path.is_file() or "doc" in path.relative_to(share).parts:
        continue
    try:
        with Image.open(path) as image:
            if image.format != "JPEG":
                continue
            pixels = image.width * image.height
    except Exception:
        continue
    parts = path.relative_to(share).parts
    picture = parts[:2] if parts[0] == "wallpapers" else parts
    if pixels > found.get(picture, (0, None))[0]:
        found[picture] = (pixels, path)
largest = sorted(found.values(), key=lambda item: (-item[0], str(item[1])))[:70]
for number, (_, path) in enumerate(sorted(largest, key=lambda item: str(item[1]))):
    for copy in range(3):
        shutil.copyfile(path, out / f"photo{number:02}-{copy}.jpg")
megapixels = sorted(pixels / 1e6 for pixels, _ in largest)
print(f"{len(largest)} photos x 3 in {out}: median {statistics.median(megapixels):.1f} MP, "
      f"{megapixels[0]:.1f} to {megapixels[-1]:.1f} MP")
EOF
