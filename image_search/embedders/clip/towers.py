"""The two CLIP towers as plain torch modules, for the ONNX export (imported only when exporting)."""

from __future__ import annotations

from typing import cast

import torch


class ImageTower(torch.nn.Module):
    """pixel_values -> projected image embedding, as transformers' CLIPModel.get_image_features."""

    def __init__(self, clip) -> None:
        super().__init__()
        self.vision = clip.vision_model
        self.projection = clip.visual_projection
        self.image_size = clip.config.vision_config.image_size

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projection(self.vision(pixel_values=pixel_values).pooler_output)


class TextTower(torch.nn.Module):
    """Token ids -> transformer -> mean pooling over real tokens -> the Dense layers (sentence-transformers')."""

    def __init__(self, transformer, dense_layers: list) -> None:
        super().__init__()
        self.transformer = transformer
        self.dense = torch.nn.ModuleList(dense_layers)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        for dense in self.dense:
            # torch types a submodule's attributes as Tensor | Module; a Dense layer's two are modules
            linear, activation = cast(torch.nn.Module, dense.linear), cast(torch.nn.Module, dense.activation_function)
            pooled = activation(linear(pooled))
        return pooled
