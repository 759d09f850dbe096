"""The query pivot's word lookup (text/pivot.py) on a hand-made word list, then on the shipped one."""

import numpy as np
import pytest

from image_search.embedders.offline import bridge
from image_search.embedders.offline.text.pivot import Lexicon


@pytest.fixture
def lexicon(tmp_path):
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
    return Lexicon(path)


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
    assert "penguin" in (shipped.translate("ペンギンの かち！") or "")
    assert "mountain" in (shipped.translate("눈 덮인 산") or "")
    assert "snail" in (shipped.translate("Eine Schnecke.") or "")
    assert shipped.translate("Ein Tiger.") is None  # spelt as in English: left to the English models


def test_pivot_share_falls_as_the_query_reads_as_english():
    shares = bridge.pivot_share(np.array([0.0, bridge.ENGLISH_MAX_SHARE / 2, bridge.ENGLISH_MAX_SHARE]))
    np.testing.assert_allclose(shares, [bridge.PIVOT_SHARE, bridge.PIVOT_SHARE / 2, 0.0], atol=1e-6)
