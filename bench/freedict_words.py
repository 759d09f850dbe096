"""Regenerate image_search/data/freedict-words.tsv, the query pivot's German and French words, from FreeDict's
German-English (GPL-3+, from Frank Richter's Ding) and French-English (GPL-2+) dictionaries as Debian packages
them in dictd format:

    apt-get download dict-freedict-deu-eng dict-freedict-fra-eng
    for d in dict-freedict-*.deb; do dpkg-deb -x "$d" fd; done
    python bench/freedict_words.py fd/usr/share/dictd

Each noun headword (and each inflected form the index points at the same entry: "Hunde") -> those of its English
equivalents that name a thing the model knows (an ImageNet class name, a CLDR emoji name, a WordNet parent's name),
at most two, class names first, as bench/dictionary_class_names.py does for Korean and Japanese. Headwords of
more than one word, and words spelt as an English name is ("Tiger"), are left to the English models.
"""

import gzip
import re
import sys
from pathlib import Path

from image_search.embedders.offline.bridge import load_class_names, load_hypernyms
from image_search.embedders.offline.text.pivot import FREEDICT_FILE, LEXICON_FILE

DICTIONARIES = (("de", "freedict-deu-eng"), ("fr", "freedict-fra-eng"))
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"  # dictd's offsets and lengths
NOTES = re.compile(r"\[[^\]]*\]|<[^>]*>|\([^)]*\)|^\d+\.\s*")  # domain, grammar and bracketed notes, "1. "
NOT_SENSES = ("see:", "synonym", "note:", '"')


def number(digits: str) -> int:
    value = 0
    for digit in digits:
        value = value * 64 + BASE64.index(digit)
    return value


def entries(folder: Path, name: str) -> dict[str, list[str]]:
    """Each index word (lower-case) -> the texts of the entries it points at."""
    text = gzip.open(folder / f"{name}.dict.dz").read()
    out: dict[str, list[str]] = {}
    for line in (folder / f"{name}.index").read_text(encoding="utf-8").splitlines():
        word, offset, length = line.split("\t")[:3]
        if not word.startswith("00database"):
            start = number(offset)
            out.setdefault(word, []).append(text[start : start + number(length)].decode("utf-8"))
    return out


def noun_equivalents(entry: str) -> list[str]:
    """The English equivalents of a noun entry ("Hund /hˈʊnt/ <masc, n, sg>\\n [zool.] dog <n>, dawg <n>"), or of
    a plural's ("Hunde /hˈʊndə/ <pl>\\ndogs, dawgs"), else []."""
    head, *lines = entry.splitlines()
    grammar = re.findall(r"<([^>]*)>", head)
    if not grammar or not {"n", "pl"} & {g.strip() for g in grammar[0].split(",")}:
        return []
    found = []
    for line in lines:
        if line.strip() and not line.strip().lower().startswith(NOT_SENSES):
            found += [" ".join(NOTES.sub(" ", e).split()).lower() for e in line.split(",")]
    return [e for e in found if e]


def singular(english: str) -> str:
    """A plural's English equivalent in the singular where that names something ("dogs" -> "dog"; "boxes" -> "box")."""
    for ending in ("s", "es"):
        if english.endswith(ending) and english not in rank and english[: -len(ending)] in rank:
            return english[: -len(ending)]
    return english


levels = [[synonyms, *hypernyms] for synonyms, hypernyms in zip(load_class_names(), load_hypernyms(), strict=True)]
class_words = {name.lower() for class_levels in levels for name in class_levels[0]}
emoji_words = {line.split("\t")[2].lower() for line in LEXICON_FILE.read_text(encoding="utf-8").splitlines()}
parent_words = {name.lower() for class_levels in levels for names in class_levels[1:] for name in names}
rank = {word: 2 for word in parent_words} | {word: 1 for word in emoji_words} | {word: 0 for word in class_words}

folder = Path(sys.argv[1])
lines = []
for lang, name in DICTIONARIES:
    for word, texts in sorted(entries(folder, name).items()):
        if " " in word or word in rank or "\t" in word:
            continue
        glosses = dict.fromkeys(singular(g) for text in texts for g in noun_equivalents(text))
        known = sorted((g for g in glosses if g in rank), key=rank.__getitem__)
        if known:
            lines.append(f"{lang}\t{word}\t{' '.join(known[:2])}")
    print(f"{lang}: {sum(line.startswith(lang) for line in lines)} words", file=sys.stderr)
FREEDICT_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
