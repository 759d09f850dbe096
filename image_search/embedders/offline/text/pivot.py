"""The query pivot: the English names of the things a Korean, Japanese, German or French query names.

all-MiniLM-L6-v2 reads English only, so non-English queries lost its better class weights. The words of a
query that CLDR's emoji annotations know (a name or keyword of an emoji in that language: "호랑이", "トラ",
"Schnecke") are replaced by the emoji's English name ("tiger", "snail"), and that English text goes through
MiniLM like an English query (embedder.class_weights blends it in). The word list is
image_search/data/cldr-words.tsv (bench/cldr_class_names.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from image_search.paths import PACKAGE_DATA

LEXICON_FILE = PACKAGE_DATA / "cldr-words.tsv"
CJK_LANGUAGES = ("ko", "ja")  # written without spaces between words (ja) or with particles glued on (ko)
MIN_LATIN_LETTERS = 3  # shorter German or French words are mostly articles ("une" is a keyword of 📰)
LONGEST_WORD = 16
CJK_SCRIPT = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


class Lexicon:
    def __init__(self, path: Path = LEXICON_FILE):
        self.words: dict[str, dict[str, str]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) == 3:
                lang, word, english = parts
                self.words.setdefault(lang, {})[word] = english

    def translate(self, text: str) -> str | None:
        """The English names of the known words of `text`, in order, or None when it has none. A query in a
        CJK script is looked up in the Korean and Japanese lists anywhere in the text, longest match first;
        any other in the German and French lists, whole words only."""
        lowered = text.lower()
        cjk = bool(CJK_SCRIPT.search(lowered))
        found: list[str] = []
        for lang, words in self.words.items():
            if (lang in CJK_LANGUAGES) == cjk:
                found += _longest_matches(lowered, words, whole_words=not cjk)
        return " ".join(dict.fromkeys(found)) or None


def _longest_matches(text: str, words: dict[str, str], whole_words: bool) -> list[str]:
    found, start = [], 0
    while start < len(text):
        for end in range(min(len(text), start + LONGEST_WORD), start + 1, -1):  # two characters at least
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
