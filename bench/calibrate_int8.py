"""Build the int8 image net's activation-range table, image_search/data/efficientnet-lite0-int8-ranges.json.

The app quantises EfficientNet-Lite0 statically (QDQ) from this table and never calibrates on the user's
photos (its vectors must not depend on the collection). The ranges are min/max of every activation of the
float graph over sample images from registry packages, none from the evaluation set (Tux Paint *stamps*):
scikit-image's sample photos plus the images of the Debian packages darknet and tuxpaint-data:

    mkdir -p /tmp/cal && cd /tmp/cal && apt-get download darknet tuxpaint-data \\
        && for d in *.deb; do dpkg-deb -x $d x; done && cd -
    python bench/calibrate_int8.py /tmp/cal/x/usr/share/darknet/data \\
        /tmp/cal/x/usr/share/tuxpaint/templates /tmp/cal/x/usr/share/tuxpaint/starters \\
        [--cache DIR] [--check FOLDER]

--check FOLDER: then compare the int8 net with the float one on the images of FOLDER (top-1 agreement,
cosine of pooled features) and time both (images per CPU-second, batch 32).
Regenerate when the exported graph changes (torch upgrade, ONNX_NAME bump): the app then logs that the
table does not fit and runs the float net.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator
from PIL import Image

from image_search.demo_photos import SAMPLES
from image_search.embedders.evaluation import collect, load_rgb
from image_search.embedders.offline import image_net as om

parser = argparse.ArgumentParser()
parser.add_argument("folders", type=Path, nargs="*", help="folders of *.jpg / *.png calibration images")
parser.add_argument("--cache", type=Path, default=Path("instance/models"))
parser.add_argument("--out", type=Path, default=om.INT8_RANGES)
parser.add_argument("--check", type=Path, help="a folder of images to compare int8 and float on")
parser.add_argument("--percentile", type=float, help="clip each range to this percentile of |x| (default: min/max)")
args = parser.parse_args()

float_path = args.cache / om.ONNX_NAME
if not float_path.exists():
    om.export_onnx(float_path)


def calibration_images():
    import skimage.data

    images = {f"scikit-image:{name}": Image.fromarray(getattr(skimage.data, name)()) for name in SAMPLES}
    for folder in args.folders:
        for path in sorted([*folder.glob("*.jpg"), *folder.glob("*.png")]):
            images[f"{folder.name}/{path.name}"] = load_rgb(path)
    return images


images = calibration_images()
x = np.stack([om.preprocess(im) for im in images.values()])
print(f"{len(x)} calibration images")


class Reader(CalibrationDataReader):
    def __init__(self):
        step = 1 if args.percentile else 16  # onnxruntime's histograms want equal batches
        self.batches = iter([{"image": x[i : i + step]} for i in range(0, len(x), step)])

    def get_next(self):
        return next(self.batches, None)


with tempfile.TemporaryDirectory() as tmp:
    method = CalibrationMethod.Percentile if args.percentile else CalibrationMethod.MinMax
    calibrator = create_calibrator(
        float_path,
        augmented_model_path=str(Path(tmp) / "augmented.onnx"),
        calibrate_method=method,
        extra_options={"percentile": args.percentile, "symmetric": False},
    )
    calibrator.collect_data(Reader())
    data = calibrator.compute_data()
needed = om.activation_tensors(onnx.shape_inference.infer_shapes(onnx.load(str(float_path))))
ranges = {name: [float(np.ravel(v)[0]) for v in data[name].range_value] for name in sorted(needed)}
table = {
    "method": f"percentile {args.percentile}" if args.percentile else "min/max",
    "about": "range of each activation of the float EfficientNet-Lite0 graph; see bench/calibrate_int8.py",
    "graph": om.ONNX_NAME,
    "torch": __import__("torch").__version__,
    "onnxruntime": ort.__version__,
    "images": sorted(images),
    "ranges": ranges,
}
args.out.write_text(json.dumps(table, indent=0) + "\n")
print(f"wrote {len(ranges)} ranges to {args.out}")

int8_path = args.cache / om.INT8_NAME
assert om.quantize_from_table(float_path, int8_path, args.out), "the fresh table should fit"
if not args.check:
    raise SystemExit


def session(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


check = np.stack([om.preprocess(load_rgb(item["path"])) for item in collect(args.check)])
outputs = {}
for name, path in (("float", float_path), ("int8", int8_path)):
    s = session(path, 1)
    outputs[name] = [
        np.concatenate(parts)
        for parts in zip(*(s.run(None, {"image": check[i : i + 32]}) for i in range(0, len(check), 32)), strict=True)
    ]
    for threads in (1, 2):
        s = session(path, threads)
        s.run(None, {"image": check[:32]})
        cpu, wall = [], []
        for _ in range(5):
            t, c = time.perf_counter(), time.process_time()
            s.run(None, {"image": check[:32]})
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        print(
            f"{name:6} threads={threads}: {32 / min(wall):6.1f} img/s wall (best), "
            f"{32 / np.median(cpu):6.1f} img per CPU-s (median)"
        )
(f0, l0), (f1, l1) = outputs["float"], outputs["int8"]
cos = np.sum(f0 * f1, 1) / np.linalg.norm(f0, axis=1) / np.linalg.norm(f1, axis=1)
print(
    f"{len(check)} images of {args.check}: top-1 agreement {(l0.argmax(1) == l1.argmax(1)).mean():.3f}, "
    f"feature cosine mean {cos.mean():.4f}, min {cos.min():.4f}"
)
