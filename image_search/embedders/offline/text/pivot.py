"""The query pivot: the English names of the things a Korean, Japanese, German or French query names.

all-MiniLM-L6-v2 reads English only, so non-English queries lost its better class weights. The words of a
query that CLDR's emoji annotations know (a name or keyword of an emoji in that language: "호랑이", "トラ",
"Schnecke") are replaced by the emoji's English name ("tiger", "snail"), and that English text goes through
MiniLM like an English query (embedder.class_weights blends it in). The word lists are
image_search/data/cldr-words.tsv (bench/cldr_class_names.py) and, for Korean and Japanese, dictionary-words.tsv
(bench/dictionary_class_names.py: "금붕어" -> goldfish, "산" -> mountain) and, for German and French,
freedict-words.tsv (bench/freedict_words.py: "Vögel" -> bird), which come first. Korean and Japanese
queries are split into words first (segment.py: MeCab), so a lookup finds a word's dictionary form and never
matches inside a longer word.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from image_search.embedders.offline.text.segment import Word, language_of, segmenter, standard_spelling
from image_search.paths import PACKAGE_DATA

log = logging.getLogger(__name__)

LEXICON_FILE = PACKAGE_DATA / "cldr-words.tsv"
# Korean and Japanese words from bilingual dictionaries (bench/dictionary_class_names.py)
DICTIONARY_FILE = PACKAGE_DATA / "dictionary-words.tsv"
# German and French words from FreeDict's dictionaries (bench/freedict_words.py: "Vögel" -> bird)
FREEDICT_FILE = PACKAGE_DATA / "freedict-words.tsv"
# where two lists know a word, the first one's wins: the dictionaries translate, CLDR's emoji keywords only relate
# ("개" is a keyword of 🦴, bone). FreeDict before or after CLDR measured alike (tuning split de .2207 / .2218,
# fr .2046 / .2032), so dictionaries first, as for Korean and Japanese.
WORD_LISTS = (DICTIONARY_FILE, FREEDICT_FILE, LEXICON_FILE)
CJK_LANGUAGES = ("ko", "ja")  # written without spaces between words (ja) or with particles glued on (ko)
MIN_LATIN_LETTERS = 3  # shorter German or French words are mostly articles ("une" is a keyword of 📰)
LONGEST_WORD = 16
KOREAN_PARTICLES = set("이가은는을를의에도와과로만")
LONGEST_COMPOUND = 3  # words read together as one dictionary entry ("곰" "인형", "ダンゴ" "ムシ")
# A Japanese query's parts between spaces and punctuation ("えんげいようの すき"): children's captions are written
# in kana with spaces between phrases, where MeCab splits an unknown kana word into nonsense (ひこうき: ひこう + き)
JAPANESE_CHUNK = re.compile(r"[^\s、。！？!?,.「」『』（）()・]+")
JAPANESE_PARTICLES = set("のをはがにでともへや")
CJK_SCRIPT = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


def is_cjk(text: str) -> bool:
    """Whether `text` has a Korean or Japanese (or Chinese) letter."""
    return bool(CJK_SCRIPT.search(text))


class Lexicon:
    def __init__(self, *paths: Path, split_words: bool = True):
        """Word lists (default: WORD_LISTS); where two know a word, the first one's wins. They are read at the first
        query (`words`), so an indexer never reads them.
        split_words: look Korean and Japanese queries up word by word where a word splitter is installed."""
        self.split_words = split_words
        self.paths = paths or WORD_LISTS

    @functools.cached_property
    def words(self) -> dict[str, dict[str, str]]:
        """Per language, word -> English. An unreadable list is left out (only its pivot words are lost), logged."""
        words: dict[str, dict[str, str]] = {}
        for path in self.paths:
            known: dict[str, dict[str, str]] = {}
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                log.warning("pivot word list %s unreadable (%s): left out", path, exc)
                continue
            for line in lines:
                parts = line.split("\t")
                if len(parts) == 3:
                    lang, word, english = parts
                    known.setdefault(lang, {})[word] = english
            for lang, listed in known.items():
                words[lang] = listed | words.get(lang, {})
        return words

    def translate(self, text: str) -> str | None:
        """The English names of the known words of `text`, in order, or None when it has none. A Korean or
        Japanese query is split into words (segment.py) that are looked up by their dictionary forms (a Japanese
        phrase between spaces that is a listed word as a whole, "ひこうき", is looked up as it is); without a
        word splitter it is looked up in the Korean and Japanese lists anywhere in the text, longest match first.
        Any other query is looked up in the German and French lists, whole words only."""
        lowered = text.lower()
        cjk = is_cjk(lowered)
        lang = language_of(lowered)
        split = segmenter(lang) if cjk and self.split_words else None
        if split is not None:
            found = (
                [m for chunk in JAPANESE_CHUNK.findall(lowered) for m in self._chunk_matches(chunk, split)]
                if lang == "ja"
                else _word_matches(split(lowered), self.words.get(lang, {}))
            )
            return " ".join(dict.fromkeys(found)) or None
        found = []
        for list_lang, words in self.words.items():
            if (list_lang in CJK_LANGUAGES) == cjk:
                found += _longest_matches(lowered, words, whole_words=not cjk, lone_syllables=list_lang == "ko")
        return " ".join(dict.fromkeys(found)) or None

    def whole_word(self, chunk: str) -> str | None:
        """The Japanese word list's entry that a chunk of a query is, as a whole or with one particle after it
        ("ひこうき", "ひこうきの"), else None."""
        known = self.words.get("ja", {})
        if chunk in known:
            return chunk
        if len(chunk) > 2 and chunk[-1] in JAPANESE_PARTICLES and chunk[:-1] in known:
            return chunk[:-1]
        return None

    def _chunk_matches(self, chunk: str, split) -> list[str]:
        whole = self.whole_word(chunk)
        return [self.words["ja"][whole]] if whole else _word_matches(split(chunk), self.words.get("ja", {}))

    def spelling(self, text: str) -> str:
        """segment.standard_spelling of `text`, where the chunks that are Japanese words of the lists as a whole
        keep their spelling ("でんきゅう", light bulb, not でん + 九)."""
        if not is_cjk(text) or language_of(text) != "ja" or segmenter("ja") is None:
            return standard_spelling(text)
        parts = re.split(f"({JAPANESE_CHUNK.pattern})", text)
        return "".join(
            p if i % 2 == 0 or self.whole_word(p.lower()) else standard_spelling(p) for i, p in enumerate(parts)
        )


def _word_matches(words: list[Word], known: dict[str, str]) -> list[str]:
    """Longest run of content words first (a compound written as two words: "곰 인형" is one entry, "곰인형"),
    then a word's dictionary forms, then a compound noun's parts ("황제콧수염원숭이": 황제, 콧수염, 원숭이)."""
    found: list[str] = []
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + LONGEST_COMPOUND), start + 1, -1):
            run = words[start:end]
            joined = "".join(w.surface for w in run)
            if all(w.content for w in run) and joined in known:
                found.append(known[joined])
                start = end
                break
        else:
            found += _word_meaning(words[start], known)
            start += 1
    return found


def _word_meaning(word: Word, known: dict[str, str]) -> list[str]:
    if not word.content:
        return []
    for form in word.forms:
        if form in known and (word.noun or len(form) > 1):
            return [known[form]]
    return [known[part] for part in word.parts if part in known]


def _longest_matches(text: str, words: dict[str, str], whole_words: bool, lone_syllables: bool = False) -> list[str]:
    """Two characters at least, except a Korean syllable standing alone (lone_syllable)."""
    found: list[str] = []
    start = 0
    while start < len(text):
        shortest = start + (1 if lone_syllables and _lone_syllable(text, start) else 2)
        for end in range(min(len(text), start + LONGEST_WORD), shortest - 1, -1):
            word = text[start:end]
            if word in words and (not whole_words or _whole_word(text, start, end)):
                found.append(words[word])
                start = end
                break
        else:
            start += 1
    return found


def _whole_word(text: str, start: int, end: int) -> bool:
    before = start == 0 or not text[start - 1].isalnum()
    after = end == len(text) or not text[end].isalnum()
    return before and after and end - start >= MIN_LATIN_LETTERS


def _lone_syllable(text: str, start: int) -> bool:
    """A Korean one-syllable word ("산", "눈") alone between spaces or punctuation, or with one particle glued on
    ("산이", "눈을"): inside a longer word a syllable matches too much ("산" in "산책", a walk)."""
    if start > 0 and text[start - 1].isalnum():
        return False
    end = start + 1
    if end < len(text) and text[end] in KOREAN_PARTICLES:
        end += 1
    return end == len(text) or not text[end].isalnum()
