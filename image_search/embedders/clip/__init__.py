"""CLIP, the reference design's model: ViT-B/32 images and a multilingual text student in one 512-d space.

embedder.py chooses and wraps a runtime; torch_runtime.py and onnx_runtime.py (with towers.py for the
export) run the two towers; location.py finds the weights on disk or on the hub.
"""
