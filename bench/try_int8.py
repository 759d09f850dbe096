"""Experiment, not used by the app: int8 static (QDQ, per-channel) quantization of the exported
EfficientNet-Lite0, calibrated on 64 images of FOLDER plus 4 scikit-image photos; prints network speed
(images per CPU-second, 1 thread) and agreement with the float model. Run after the embedder has
exported its ONNX file: python bench/try_int8.py [FOLDER] [CACHE_DIR]
"""
import numpy as np, time, onnxruntime as ort
from pathlib import Path
from onnxruntime.quantization import quantize_static, CalibrationDataReader, QuantFormat, QuantType
from onnxruntime.quantization.shape_inference import quant_pre_process
from image_search.embedders.offline_models import preprocess
from image_search.evaluation import collect, load_rgb
import sys
items=collect(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/data/tuxpaint-stamps"))
cache = Path(sys.argv[2] if len(sys.argv) > 2 else "instance/models")
rng=np.random.default_rng(0); pick=rng.choice(len(items),64,replace=False)
import skimage.data as d
from PIL import Image
ims=[load_rgb(items[i]["path"]) for i in pick]+[Image.fromarray(x) for x in (d.chelsea(),d.coffee(),d.astronaut(),d.rocket())]
X=np.stack([preprocess(im) for im in ims])
class R(CalibrationDataReader):
    def __init__(s): s.it=iter([{"image":X[i:i+8]} for i in range(0,len(X),8)])
    def get_next(s): return next(s.it,None)
src = str(cache / "efficientnet-lite0-v1.onnx"); pre = str(cache / "pre.onnx"); q = str(cache / "efficientnet-lite0-int8-experiment.onnx")
quant_pre_process(src, pre)
quantize_static(pre, q, R(), quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
for path in (src,q):
    so=ort.SessionOptions(); so.intra_op_num_threads=1
    s=ort.InferenceSession(path,so,providers=["CPUExecutionProvider"])
    xb=X[:32]; s.run(None,{"image":xb}); ts=[]
    for _ in range(4):
        t=time.process_time(); f,l=s.run(None,{"image":xb}); ts.append(time.process_time()-t)
    print(path, 32/min(ts), "img per CPU-s")
    if path==src: f0,l0=f,l
    else:
        print("top1 agree", (l.argmax(1)==l0.argmax(1)).mean(), "feat cos", np.mean(np.sum(f*f0,1)/np.linalg.norm(f,axis=1)/np.linalg.norm(f0,axis=1)))
