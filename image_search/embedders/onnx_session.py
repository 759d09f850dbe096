"""The one way ONNX Runtime sessions are made: a fixed thread count, CPU only, no busy-waiting."""

from __future__ import annotations

from pathlib import Path


def cpu_session(path: Path, threads: int):
    """An ONNX Runtime CPU session for a web server on few shared cores: `threads` intra-op threads, one
    inter-op, and no busy-waiting between runs (spinning workers starved the image-resizing thread and
    other requests: int8 embed_images ~70 -> ~110 images per CPU-second)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
