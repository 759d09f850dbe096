"""CLIP on OpenVINO: the towers the ONNX runtime exports, compiled by OpenVINO (f32, or bf16 after a self-check).

f32 gives the ONNX (and so sentence-transformers') vectors. bf16 is used only when, on the weights actually
loaded, both towers' vectors on fixed inputs have cosine >= MIN_COSINE to f32's; the check runs once per
exported model and is remembered beside the exports, so real CLIP weights are checked on the user's machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from image_search.embedders.clip.onnx_runtime import OnnxClip
from image_search.embedders.openvino_model import (
    MIN_COSINE,
    OpenVinoModel,
    check_images,
    cosine_rows,
    read_verdict,
    reduced_precision_supported,
    remembered_verdict,
)

CHECK_TEXTS = ["a mountain covered in snow", "ein roter Hund am Strand", "un chat qui dort", "夜の東京の街", "x"]


def openvino_clip(
    image_dir: Path, text_dir: Path, cache_dir: Path, *, threads: int, precision: str, names: tuple[str, str]
) -> OnnxClip:
    """Both towers on OpenVINO at `precision`, from the ONNX exports in cache_dir (made once)."""
    compiled = cache_dir / "openvino"
    return OnnxClip(
        image_dir,
        text_dir,
        cache_dir,
        threads=threads,
        names=names,
        open_model=lambda path, count: OpenVinoModel(path, count, precision, compiled),
    )


def self_check(reference: OnnxClip, candidate: OnnxClip) -> float:
    """The lowest cosine between the candidate's and the reference's vectors on the fixed inputs, both towers."""
    images = check_images()
    image_cosine = cosine_rows(candidate.embed_images(images), reference.embed_images(images))
    text_cosine = cosine_rows(candidate.embed_texts(CHECK_TEXTS), reference.embed_texts(CHECK_TEXTS))
    return float(min(image_cosine.min(), text_cosine.min()))


def bf16_verdict(
    exports: tuple[Path, Path], make_f32: Callable[[], OnnxClip], make_bf16: Callable[[], OnnxClip]
) -> tuple[OnnxClip | None, str]:
    """(the bf16 towers, why) when they pass the self-check against f32's, else (None, why not).

    The verdict is remembered in a file named after both exports (which change with the model's files), so the
    f32 towers are built only to measure it: a process that finds it passed opens bf16's alone."""
    if not reduced_precision_supported("bf16"):
        return None, "this CPU has no bf16 support (AVX512-BF16 or AMX): bf16 is not used"
    image_path, text_path = exports
    record = image_path.with_name(f"openvino-bf16-check-{image_path.stem}-{text_path.stem}.json")
    known = read_verdict(record)
    if known is not None and not known["passed"]:
        return None, _failed(known["cosine"])
    bf16 = make_bf16()
    passed, cosine = remembered_verdict(record, lambda: self_check(make_f32(), bf16))
    if not passed:
        return None, _failed(cosine)
    return bf16, f"bf16 passed its self-check (cosine {cosine:.5f} to f32)"


def _failed(cosine: float) -> str:
    return f"bf16 failed its self-check on these weights (cosine {cosine:.5f}, needs {MIN_COSINE})"
