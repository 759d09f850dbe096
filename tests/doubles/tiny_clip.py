"""Test double: a tiny, randomly initialised CLIP pair in sentence-transformers format.

Same architectures and on-disk layouts as the real models, so they load through the same code
paths, but with tiny random weights (their vectors mean nothing):

* image model like `sentence-transformers/clip-ViT-B-32`: one legacy `CLIPModel` module in
  `0_CLIPModel/` (a transformers CLIPModel + CLIPProcessor), listed in modules.json;
* text model like `sentence-transformers/clip-ViT-B-32-multilingual-v1`: DistilBERT
  `0_Transformer` (max_seq_length 128) -> mean `1_Pooling` -> `2_Dense` (hidden -> 512, no bias,
  identity), in that model's legacy layout.

Both produce TINY_CLIP_DIM-d vectors. Deterministic (seeded); builds in well under a second.
`build_random_clip(directory, REAL_SIZES)` writes the same with the real models' sizes (for the bench).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

TINY_CLIP_DIM = 512  # the real models' output size; the projection is cheap at hidden 32


@dataclass(frozen=True)
class ClipSizes:
    projection_dim: int
    vision: dict  # transformers CLIPVisionConfig fields
    clip_text: dict  # CLIPTextConfig fields (the image model carries CLIP's own text tower, unused here)
    distilbert: dict  # DistilBertConfig fields of the multilingual text model


_TINY_LAYERS = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
TINY_SIZES = ClipSizes(
    projection_dim=TINY_CLIP_DIM,
    vision=dict(_TINY_LAYERS, image_size=32, patch_size=8),
    clip_text=dict(_TINY_LAYERS),
    distilbert=dict(dim=32, hidden_dim=64, n_layers=2, n_heads=2),
)
# sentence-transformers/clip-ViT-B-32 and clip-ViT-B-32-multilingual-v1 (random weights all the same).
REAL_SIZES = ClipSizes(
    projection_dim=512,
    vision=dict(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        image_size=224,
        patch_size=32,
    ),
    clip_text=dict(
        hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8, vocab_size=49408
    ),
    distilbert=dict(dim=768, hidden_dim=3072, n_layers=6, n_heads=12, vocab_size=119547),
)
_WORDS = [
    "a",
    "the",
    "mountain",
    "covered",
    "in",
    "snow",
    "dog",
    "cat",
    "on",
    "beach",
    "red",
    "car",
    "photo",
    "of",
    "ein",
    "berg",
    "mit",
    "schnee",
    "une",
    "montagne",
    "enneigée",
    "la",
]


def build_tiny_clip(directory: Path) -> tuple[Path, Path]:
    """Write the tiny image and text models under `directory`; return (image_model, text_model)."""
    return build_random_clip(directory, TINY_SIZES, prefix="tiny-clip")


def build_random_clip(directory: Path, sizes: ClipSizes, prefix: str = "random-clip") -> tuple[Path, Path]:
    """Write a random CLIP pair of the given sizes: (directory/<prefix>-image, directory/<prefix>-text)."""
    directory = Path(directory)
    image_dir, text_dir = directory / f"{prefix}-image", directory / f"{prefix}-text"
    with tempfile.TemporaryDirectory(prefix="random-clip-src-") as scratch:
        _build_image_model(image_dir, Path(scratch) / "clip", sizes)
        _build_text_model(text_dir, Path(scratch) / "distilbert", sizes)
    return image_dir, text_dir


def _bytes_to_unicode() -> dict[int, str]:
    # GPT-2/CLIP byte-level alphabet: every byte maps to a printable character.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def _write_clip_bpe(directory: Path) -> None:
    """A small byte-level BPE vocabulary: all bytes (plain and word-final) plus a few merges."""
    alphabet = list(_bytes_to_unicode().values())
    vocab_tokens = alphabet + [c + "</w>" for c in alphabet]
    merges = ["t h", "th e</w>", "o f</w>", "i n</w>", "o n</w>"]
    vocab_tokens += [m.replace(" ", "") for m in merges]
    vocab_tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(vocab_tokens))}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


def _build_image_model(out: Path, scratch: Path, sizes: ClipSizes) -> None:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    _write_clip_bpe(scratch)
    tokenizer = CLIPTokenizer.from_pretrained(str(scratch))
    text_config = dict(
        vocab_size=len(tokenizer),
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = CLIPConfig(
        text_config={**text_config, **sizes.clip_text}, vision_config=sizes.vision, projection_dim=sizes.projection_dim
    )
    torch.manual_seed(0)
    model = CLIPModel(config).eval()
    side = sizes.vision["image_size"]
    image_processor = CLIPImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    module_dir = out / "0_CLIPModel"
    model.save_pretrained(module_dir)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(module_dir)
    # The layout of sentence-transformers/clip-ViT-B-32: one legacy CLIPModel module.
    _write_json(
        out / "modules.json",
        [{"idx": 0, "name": "0", "path": "0_CLIPModel", "type": "sentence_transformers.models.CLIPModel"}],
    )
    _write_json(out / "config_sentence_transformers.json", {"__version__": {}})


def _build_text_model(out: Path, scratch: Path, sizes: ClipSizes) -> None:
    from safetensors.torch import save_file
    from transformers import DistilBertConfig, DistilBertModel, DistilBertTokenizer

    scratch.mkdir(parents=True, exist_ok=True)
    pieces = ["##" + c for c in "abcdefghijklmnopqrstuvwxyzé"] + list("abcdefghijklmnopqrstuvwxyzé")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + _WORDS + pieces
    (scratch / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    # Cased, like distilbert-base-multilingual-cased; 512 > max_seq_length, as there.
    tokenizer = DistilBertTokenizer.from_pretrained(str(scratch), do_lower_case=False, model_max_length=512)
    config = DistilBertConfig(
        **{"vocab_size": len(tokenizer), **sizes.distilbert}, max_position_embeddings=512, pad_token_id=0
    )
    hidden, out_dim = config.dim, sizes.projection_dim
    torch.manual_seed(1)
    transformer_dir = out / "0_Transformer"
    DistilBertModel(config).eval().save_pretrained(transformer_dir)
    tokenizer.save_pretrained(transformer_dir)
    _write_json(transformer_dir / "sentence_bert_config.json", {"max_seq_length": 128, "do_lower_case": False})
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    torch.manual_seed(2)
    dense = torch.nn.Linear(hidden, out_dim, bias=False)
    _write_json(
        out / "2_Dense" / "config.json",
        {
            "in_features": hidden,
            "out_features": out_dim,
            "bias": False,
            "activation_function": "torch.nn.modules.linear.Identity",
        },
    )
    save_file({"linear.weight": dense.weight.detach().contiguous()}, str(out / "2_Dense" / "model.safetensors"))
    _write_json(
        out / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(
                [("0_Transformer", "Transformer"), ("1_Pooling", "Pooling"), ("2_Dense", "Dense")]
            )
        ],
    )
    _write_json(out / "config_sentence_transformers.json", {"__version__": {}})


def _write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
