"""Evaluate the offline embedder on a folder without the app: python bench/eval_offline.py FOLDER
[--lang en,de,fr,ko] [--cache DIR] [--threads N] [--json] [--float]. Images are embedded once for all languages.
(Inside the app: flask --app image_search eval FOLDER [--lang de] [--json], with the offline model active.)
"""
import argparse
import json
from pathlib import Path


from image_search.embedders.offline import OfflineEmbedder
from image_search.evaluation import collect, embed_folder, evaluate, format_table

parser = argparse.ArgumentParser()
parser.add_argument("folder", type=Path)
parser.add_argument("--lang", default="en")
parser.add_argument("--cache", type=Path, default=Path("instance/models"))
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--float", action="store_true", help="the float image net instead of the int8 one")
parser.add_argument("--json", action="store_true")
args = parser.parse_args()

emb = OfflineEmbedder(args.cache, threads=args.threads, int8=not args.float)
vectors = embed_folder(collect(args.folder), emb)
results = {}
for lang in args.lang.split(","):
    result = evaluate(args.folder, emb, lang=None if lang == "en" else lang, vectors=vectors)
    results[lang] = result
    if not args.json:
        print(f"== {lang}\n{format_table(result)}", flush=True)
if args.json:
    print(json.dumps(results, indent=2))
