"""`python -m image_search.embedders.offline.prepare_data`, run by `make install`: builds the offline model's
foreign class-name matrix (classes-<e5>-names-<fingerprint>.npy, 4.6 MB: the CLDR names in four languages and
the dictionaries' Korean and Japanese names) into image_search/data, where the shipped class matrices lie, from
the names files in the repository and the packaged e5 model. Built at install, not committed (the repository
holds no large derived data); without it the first text query would build it (about 34,000 short texts through
e5: 3.5 CPU-minutes; 14 minutes wall on 2 cores shared at a load average of 15) into the data dir's
model cache."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from image_search.embedders.offline import bridge
from image_search.embedders.offline.embedder import OfflineEmbedder


def main() -> int:
    target = bridge.CLASSES_FILE.parent
    with tempfile.TemporaryDirectory(prefix="image-search-prepare-") as cache:
        OfflineEmbedder(Path(cache), threads=2).text.matrices()  # builds what is neither cached nor shipped
        built = sorted(Path(cache).glob("classes-*-names-*.npy"))
        for path in built:
            shutil.copy(path, target / path.name)
            print(f"built {target / path.name}")
    if not built:
        print("the foreign class-name matrix was already in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
