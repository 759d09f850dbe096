"""Regenerate image_search/data/imagenet-1k-names-{ko,ja,de,fr}.txt and cldr-words.tsv from Unicode CLDR's emoji
annotations.

    npm pack cldr-annotations-full@48.2.0 && tar xzf cldr-annotations-full-48.2.0.tgz
    python bench/cldr_class_names.py package/annotations [KEYWORD_COSINE]

CLDR names each emoji in every language ("tiger" / "호랑이" / "トラ" / "Tiger" / "tigre") and gives it English
keywords. An emoji whose English name (its `tts` entry) or one of whose English keywords equals one of an
ImageNet class's WordNet synonyms, or one of the names of its WordNet parents or grandparents
(image_search/data/imagenet-1k-hypernyms.txt), gives that class the emoji's name in each language at that
level. Keywords count only when at most KEYWORD_EMOJI emoji share them: "food" or "animal" would give a class dozens
of names, whose mean then matches any text in that language (measured on the tuning split, e5 alone: names only
ko MRR .151, with keywords shared by <= 4 emoji .174, with every keyword .176 but Korean gibberish at cosine .45).
And only where all-MiniLM-L6-v2 puts the emoji's English name near the keyword (KEYWORD_COSINE): "maze" is a
keyword of 🌽 ear of corn, which made 옥수수 a Korean name of the maze class. Tuning split MRR en / de / fr / ko / ja
without that rule .2323 / .2229 / .2123 / .2165 / .2303; with it at 0.1 the same, at 0.2 .2331 / .2259 / .2130 /
.2198 / .2306 (kept: the best mean), 0.25 .2334 / .2229 / .2144 / .2202 / .2302, 0.3 .2337 / .2211 / .2123 /
.2184 / .2307, 0.4 .2347 / .2270 / .2119 / .2187 / .2292.
A line per class (logit order): names | parents' names | grandparents' names, comma-separated, empty where no
emoji matched. e5 matches a Korean query far better against Korean names than against English ones ("호랑이" is
nearer "howler monkey" than "tiger" for it). The tuning split: bench/tune_offline.py --split.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from image_search.embedders.offline.bridge import CLDR_LANGUAGES, load_class_names, load_hypernyms, names_file
from image_search.embedders.offline.text.minilm import MiniLMText
from image_search.embedders.offline.text.pivot import CJK_LANGUAGES, LEXICON_FILE

annotations = Path(sys.argv[1])


KEYWORD_EMOJI = 4
KEYWORD_COSINE = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2  # see above


def load(lang: str, field: str = "tts") -> dict[str, list[str]]:
    """emoji -> its spoken names (field "tts") or its keywords ("default") in `lang`."""
    data = json.loads((annotations / lang / "annotations.json").read_text(encoding="utf-8"))
    return {emoji: a[field] for emoji, a in data["annotations"]["annotations"].items() if a.get("tts") and a.get(field)}


def emoji_by(names: dict[str, list[str]]) -> dict[str, list[str]]:
    """lower-case English word -> the emoji it names."""
    out: dict[str, list[str]] = {}
    for emoji, words in names.items():
        for word in words:
            out.setdefault(word.lower(), []).append(emoji)
    return out


english_names = {emoji: names[0] for emoji, names in load("en").items()}
emoji_by_name = emoji_by(load("en"))
emoji_by_keyword = {w: emoji for w, emoji in emoji_by(load("en", "default")).items() if len(emoji) <= KEYWORD_EMOJI}

levels = [[synonyms, *hypernyms] for synonyms, hypernyms in zip(load_class_names(), load_hypernyms(), strict=True)]


def related_keywords() -> set[tuple[str, str]]:
    """(class name, emoji) pairs where the name is only a keyword of the emoji and all-MiniLM-L6-v2 finds the
    emoji's English name near it (cosine >= KEYWORD_COSINE): a keyword can be a pun ("maze" for 🌽 ear of corn)."""
    pairs = sorted(
        {
            (n.lower(), e)
            for class_levels in levels
            for names in class_levels
            for n in names
            for e in emoji_by_keyword.get(n.lower(), [])
            if e not in emoji_by_name.get(n.lower(), []) and e in english_names
        }
    )
    with tempfile.TemporaryDirectory() as cache:
        model = MiniLMText(2, Path(cache))
        a, b = (model.encode(texts) for texts in ([n for n, _ in pairs], [english_names[e] for _, e in pairs]))
    cosines = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {pair for pair, cosine in zip(pairs, cosines, strict=True) if cosine >= KEYWORD_COSINE}


related = related_keywords()
for word, emoji in emoji_by_keyword.items():
    kept = [e for e in emoji if (word, e) in related or e in emoji_by_name.get(word, [])]
    emoji_by_name[word] = list(dict.fromkeys(emoji_by_name.get(word, []) + kept))
for lang in CLDR_LANGUAGES:
    translated = load(lang)
    lines = []
    for class_levels in levels:
        row = []
        for names in class_levels:
            found = [translated[e][0] for n in names for e in emoji_by_name.get(n.lower(), []) if e in translated]
            row.append(", ".join(dict.fromkeys(found)))
        lines.append(" | ".join(row))
    names_file(lang).write_text("\n".join(lines) + "\n", encoding="utf-8")
    named = sum(1 for line in lines if line.replace("|", "").strip())
    print(f"{lang}: {named} classes named", file=sys.stderr)

# The word list of the query pivot (image_search/embedders/offline/text/pivot.py): per language, each name and
# keyword of an emoji (lower-case) -> that emoji's English name, the first emoji in CLDR's order where several
# share a word. German and French words that are also English names or keywords ("tiger", "rose", "animal")
# are left out: an English query would be "translated" into other emoji names. A line per word: language,
# word, English name, tab-separated.
english_words = {w.lower() for field in ("tts", "default") for ws in load("en", field).values() for w in ws}
words: dict[tuple[str, str], str] = {}
for lang in CLDR_LANGUAGES:
    spoken, keywords = load(lang), load(lang, "default")
    for emoji in spoken:
        if emoji in english_names:
            for word in spoken[emoji] + keywords.get(emoji, []):
                if lang in CJK_LANGUAGES or word.lower() not in english_words:
                    words.setdefault((lang, word.lower()), english_names[emoji])
lexicon_lines = [f"{lang}\t{word}\t{english}" for (lang, word), english in words.items() if "\t" not in word]
LEXICON_FILE.write_text("\n".join(lexicon_lines) + "\n", encoding="utf-8")
print(f"{len(lexicon_lines)} words in {LEXICON_FILE.name}", file=sys.stderr)
