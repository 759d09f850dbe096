"""The offline model's text side: text models (each in its own module) bridged to the ImageNet classes."""

from __future__ import annotations

from image_search.embedders.offline.text.base import TextModel
from image_search.embedders.offline.text.e5 import E5Text
from image_search.embedders.offline.text.minilm import MiniLMText

TEXT_MODELS: dict[str, type[TextModel]] = {"e5": E5Text, "minilm": MiniLMText}
