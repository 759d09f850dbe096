"""Regenerate image_search/data/imagenet-1k-names-{ko,ja,de,fr}.txt and cldr-words.tsv from Unicode CLDR's emoji
annotations.

    npm pack cldr-annotations-full@48.2.0 && tar xzf cldr-annotations-full-48.2.0.tgz
    python bench/cldr_class_names.py package/annotations

CLDR names each emoji in every language ("tiger" / "호랑이" / "トラ" / "Tiger" / "tigre") and gives it English
keywords. An emoji whose English name (its `tts` entry) or one of whose English keywords equals one of an
ImageNet class's WordNet synonyms, or one of the names of its WordNet parents or grandparents
(image_search/data/imagenet-1k-hypernyms.txt), gives that class the emoji's name in each language at that
level. Keywords count only when at most KEYWORD_EMOJI emoji share them: "food" or "animal" would give a class dozens
of names, whose mean then matches any text in that language (measured on the tuning split, e5 alone: names only
ko MRR .151, with keywords shared by <= 4 emoji .174, with every keyword .176 but Korean gibberish at cosine .45).
A line per class (logit order): names | parents' names | grandparents' names, comma-separated, empty where no
emoji matched. e5 matches a Korean query far better against Korean names than against English ones ("호랑이" is
nearer "howler monkey" than "tiger" for it). The tuning split: bench/tune_offline.py --split.
"""

import json
import sys
from pathlib import Path

from image_search.embedders.offline.bridge import CLDR_LANGUAGES, load_class_names, load_hypernyms, names_file
from image_search.embedders.offline.text.pivot import CJK_LANGUAGES, LEXICON_FILE

annotations = Path(sys.argv[1])


KEYWORD_EMOJI = 4


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


emoji_by_name = emoji_by(load("en"))
for word, emoji in emoji_by(load("en", "default")).items():
    if len(emoji) <= KEYWORD_EMOJI:
        emoji_by_name[word] = list(dict.fromkeys(emoji_by_name.get(word, []) + emoji))

levels = [[synonyms, *hypernyms] for synonyms, hypernyms in zip(load_class_names(), load_hypernyms(), strict=True)]
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
english_names = {emoji: names[0] for emoji, names in load("en").items()}
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
