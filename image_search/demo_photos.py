"""Write scikit-image's sample photos to a folder, as demo material (`make demo-photos`)."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

# The colour photographs among scikit-image's bundled samples.
SAMPLES = [
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "colorwheel",
    "logo",
    "camera",
    "horse",
    "coins",
    "moon",
    "grass",
    "gravel",
    "brick",
]


def write_samples(folder: Path) -> int:
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    for name in SAMPLES:
        Image.fromarray(getattr(skimage.data, name)()).save(folder / f"{name}.png")
    return len(SAMPLES)


if __name__ == "__main__":
    count = write_samples(Path(sys.argv[1]))
    print(f"wrote {count} sample photos to {sys.argv[1]}")
