"""Regenerate image_search/data/imagenet-1k-{hypernyms,glosses}.txt from WordNet 3.0 (Debian wordnet-base).

python bench/wordnet_classes.py DATA_NOUN WNIDS > image_search/data/imagenet-1k-hypernyms.txt
python bench/wordnet_classes.py DATA_NOUN WNIDS --glosses > image_search/data/imagenet-1k-glosses.txt
  DATA_NOUN: usr/share/wordnet/data.noun from `apt-get download wordnet-base && dpkg-deb -x wordnet-base_*.deb x`
  WNIDS: the 1000 ImageNet-1k synset ids in sorted order, one a line (e.g. timm/data/_info/imagenet_synsets.txt)
Hypernyms, a line per class: the parents' lemmas | the grandparents' lemmas (hypernym and instance-hypernym
pointers). Glosses: the definition's first part (before the first ";", which starts the examples).
"""

import sys
from pathlib import Path

from image_search.embedders.offline.bridge import load_class_names
from wordnet_nouns import read_nouns

synsets = read_nouns(Path(sys.argv[1]))

wnids = open(sys.argv[2]).read().split()
for wnid, names in zip(wnids, load_class_names(), strict=True):
    words, parents, gloss = synsets[wnid[1:]]
    assert words[0].lower() == names[0].lower(), (wnid, words, names)
    if "--glosses" in sys.argv:
        print(gloss)
        continue
    grand = [g for p in parents for g in synsets[p].parents]
    level = lambda ids: ", ".join(dict.fromkeys(w for s in ids for w in synsets[s].words))  # noqa: E731
    print(f"{level(parents)} | {level(grand)}")
