"""The offline Embedder: pretrained models shipped inside PyPI packages, nothing downloaded at run time.

Images go through the EfficientNet-Lite0 ImageNet classifier (ONNX Runtime), which gives pooled features
f (1280) and class logits (1000). Texts go through a sentence-embedding model (multilingual-e5-small by
default) and are bridged to images through the 1000 ImageNet class names: each class has a text vector
(mean over prompt templates and WordNet synonyms, plus its WordNet parents' and grandparents' names and
its WordNet definition at lower weight), a query q gets class weights w = softmax(q.C^T / T)
(for e5, q and C are first centred by the class matrix's mean; T = 0.07). English queries also go
through all-MiniLM-L6-v2, better at English, whose class weights are blended in (offline_text.py).

Vector layout (dim 2280, every vector L2-normalised, so inner product = cosine):

    stored image vector   s = [ f/|f|            | sqrt(p) ] / sqrt(2)     p = softmax(logits)
    text query            t = [ 0 ... 0          | w/|w|   ]
    image query           image_query(s) = [ f/|f| | a*sqrt(p) ], re-normalised; a = 0 by default

    t.s  = sum_c w_c sqrt(p_c) / (sqrt(2)|w|): the images most likely to show the query's classes first
    s'.s = (cos(f', f) + BC(p', p)) / 2 where BC = sum sqrt(p'_c p_c), the Bhattacharyya coefficient of the
           two class distributions; image_query() sets the share of that class term (IMAGE_CLASS_SHARE,
           0 = plain cosine of the pooled features, which measured best: P@5 .75 vs .72 for the identity).

sqrt(p) is a unit vector by construction, so stored vectors are unit vectors with no per-image
rescaling, and a stored vector used as it is (the identity image_query) is already a sensible query.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from image_search.embedders.base import Concept, Embedder
from image_search.embedders.offline import bridge as bridge
from image_search.embedders.offline.image_net import ImageNet, bf16_self_check, int8_is_accurate
from image_search.embedders.offline.text import TEXT_MODELS
from image_search.embedders.offline.text.class_bridge import TextBridge
from image_search.embedders.offline.text.pivot import WORD_LISTS, Lexicon, is_cjk
from image_search.embedders.offline.text.segment import standard_spelling
from image_search.errors import ModelUnavailable

LAYOUT_VERSION = 2  # bump when the vector layout, the image preprocessing or the net changes (2: int8 net)
IMAGE_CLASS_SHARE = 0.0  # share of the class term in image->image scores: 0 measured best (P@5 .75 vs .72 at .5)
CONFIDENCE_THRESHOLD = 0.5  # text_confidence below this: the query is probably not about an ImageNet thing


UNREADABLE_NAMES = "The ImageNet class names shipped with image_search are unreadable ({}); reinstall image_search"


def foreign_names() -> dict[str, list[list[list[str]]]]:
    """Per name set (bridge.FOREIGN_NAME_SETS), each class's names in it: the multilingual model's text side."""
    try:
        return {name_set: bridge.load_foreign_names(name_set) for name_set in bridge.FOREIGN_NAME_SETS}
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(UNREADABLE_NAMES.format(exc)) from None


class OfflineEmbedder(Embedder):
    unit_vectors = True
    sees_concepts = True  # the stored vector holds the class probabilities (see the layout above)
    dim = bridge.FEATURE_DIM + bridge.N_CLASSES
    input_size = 224  # the classifier's input: photos are shrunk to about this while decoding

    def __init__(
        self,
        cache_dir: Path,
        threads: int = 1,
        text_model: str = "e5",
        english_model: str | None = "minilm",
        temperature: float | None = None,
        image_class_share: float = IMAGE_CLASS_SHARE,
        int8: bool = True,
        runtime: str = "onnx",
        quantize: bool = False,
    ):
        """runtime: onnx (ONNX Runtime, int8 where accurate) or openvino (f32; bf16 with `quantize` once it
        passes its self-check). Any other value (auto, torch: CLIP's) means onnx."""
        for name in (text_model, english_model):
            if name is not None and name not in TEXT_MODELS:
                raise ModelUnavailable(f"Unknown offline text model {name!r}; choose one of {', '.join(TEXT_MODELS)}")
        self.cache_dir = Path(cache_dir)
        net = self._image_net(threads, int8, runtime, quantize)  # raises ModelUnavailable when a package is missing
        self.images, net_name = net
        text_class = TEXT_MODELS[text_model]
        try:
            classes = (bridge.load_class_names(), bridge.load_hypernyms(), bridge.load_glosses())
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(UNREADABLE_NAMES.format(exc)) from None
        foreign = foreign_names if text_class.multilingual else None  # read at the first text
        self.text = TextBridge(text_class(threads, self.cache_dir), self.cache_dir, classes, temperature, foreign)
        self.english = (
            TextBridge(TEXT_MODELS[english_model](1, self.cache_dir), self.cache_dir, classes)
            if english_model and english_model != text_model
            else None
        )
        # the pivot feeds the English model, so it needs one; its word lists are read at the first text (an
        # unreadable one only loses its pivot words)
        word_lists = [path for path in WORD_LISTS if path.is_file()]
        self.lexicon = Lexicon(*word_lists) if self.english is not None and word_lists else None
        self.confidence_threshold = CONFIDENCE_THRESHOLD
        self.image_class_share = float(image_class_share)
        self._side = ThreadPoolExecutor(1, thread_name_prefix="english-text")
        keys = "+".join(b.model.key for b in (self.text, self.english) if b)
        self.model_id = f"offline-effnetlite0{net_name}+{keys}-v{LAYOUT_VERSION}"

    def _image_net(self, threads: int, int8: bool, runtime: str, quantize: bool) -> tuple[ImageNet, str]:
        """(the image net, its part of model_id: "" int8, "-f32", "-bf16"), and runtime_description."""
        if runtime != "openvino":
            int8 = int8 and int8_is_accurate()  # else the float net, named apart in model_id
            self.runtime_description = f"onnx {'int8' if int8 else 'f32'} image net"
            return ImageNet(self.cache_dir, threads, int8), "" if int8 else "-f32"
        precision, why = "f32", "RUNTIME=openvino"
        if quantize:
            passed, verdict = bf16_self_check(self.cache_dir, threads, bridge.stored_vectors)
            precision, why = ("bf16" if passed else "f32"), f"RUNTIME=openvino, QUANTIZE: {verdict}"
        self.runtime_description = f"openvino {precision} image net ({why})"
        return ImageNet(self.cache_dir, threads, runtime="openvino", precision=precision), f"-{precision}"

    # -- images -----------------------------------------------------------------------------------
    def image_outputs(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Raw (pooled features, logits) of the classifier, for evaluation and diagnostics."""
        return self.images.run(images)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        features, logits = self.images.run(images)
        return bridge.stored_vectors(features, logits)

    def image_query(self, stored: np.ndarray) -> np.ndarray:
        """Query vectors that find images like those with these stored vectors."""
        return bridge.image_query(stored, self.image_class_share)

    def concepts(self, stored: np.ndarray, lang: str) -> list[list[Concept]]:
        """The likeliest ImageNet classes, read from the stored vectors' class part (no model run)."""
        try:
            names = bridge.concept_names(lang)
        except (OSError, ValueError):  # a damaged names file of one language: the English names
            names = bridge.concept_names("en")
        return [[Concept(*seen) for seen in row] for row in bridge.top_concepts(stored, names)]

    # -- texts ------------------------------------------------------------------------------------
    def _vectors(self, texts: list[str], pivoted: Sequence[str] = ()) -> tuple[np.ndarray, np.ndarray | None]:
        """(multilingual, English) query vectors; the English ones of `pivoted` (English texts) follow those of
        `texts`. The two text models run side by side (ONNX Runtime releases the GIL): ~6 ms instead of ~10 on
        2 cores."""
        if self.english is None or not texts:
            return self.text.vectors(texts), None
        english = self._side.submit(self.english.vectors, [*texts, *pivoted])
        return self.text.vectors(texts), english.result()

    def class_weights(self, texts: list[str]) -> np.ndarray:
        """The multilingual model's class weights, with the English model's blended in as far as the query
        reads as English to it (its best class cosine; bridge.english_share); then, for a query whose words
        the pivot lexicon knows, the English model's weights of their English names (bridge.pivot_share).
        Japanese nouns written in hiragana are read in their standard spelling (segment.standard_spelling)."""
        texts = [self._spelling(t) for t in texts]
        translations = [self.lexicon.translate(t) for t in texts] if self.lexicon else [None] * len(texts)
        pivoted = [t for t in translations if t is not None]
        vectors, english = self._vectors(texts, pivoted)
        weights = self.text.weights(vectors, [is_cjk(t) for t in texts])
        if english is None or self.english is None:
            return weights
        english, pivot_vectors = english[: len(texts)], english[len(texts) :]
        share = bridge.english_share(self.english.best_cosine(english))
        weights = bridge.blend(weights, self.english.weights(english), share)
        if not pivoted:
            return weights
        translated = np.array([t is not None for t in translations])
        pivot_weights = np.zeros_like(weights)
        pivot_weights[translated] = self.english.weights(pivot_vectors)
        return bridge.blend(weights, pivot_weights, np.where(translated, bridge.pivot_share(share), 0.0))

    def _spelling(self, text: str) -> str:
        return self.lexicon.spelling(text) if self.lexicon else standard_spelling(text)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return bridge.text_query(self.class_weights(texts))

    def text_confidence(self, text: str) -> float:
        """How well the query matches some ImageNet class name, 0..1 (the better of the two text models);
        below `confidence_threshold` (0.5) the model probably does not know what the query shows."""
        text = self._spelling(text)
        vectors, english = self._vectors([text])
        confidence = self.text.confidence(vectors, is_cjk(text))
        if english is None or self.english is None:
            return confidence
        return max(confidence, self.english.confidence(english))

    def forget_texts(self) -> None:
        """Drop remembered query vectors (benchmarks time first-seen queries)."""
        for b in (self.text, self.english):
            if b:
                b.forget()
