# `make run`: set up everything, fetch demo photos, index them, serve on http://127.0.0.1:5000
# `make serve`: the same under waitress, the production server
# `make test`: the test suite (what CI runs)
# `make lint`: ruff (lint and format check) and mypy (what CI runs before the tests)
# `make messages`: extract the interface's messages into translations/messages.pot and merge them into each .po
# `make es` / `make es-stop`: a local 3-node Elasticsearch cluster on http://127.0.0.1:9200, no Docker needed
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app image_search
DEMO := demo/photos

# The local cluster's data and log live outside the repository; ES_PORT is the first node's HTTP port
# (the nodes answer on ES_PORT.. ES_PORT+2, their transport ports are ES_PORT+100..).
ES_DIR ?= $(HOME)/.cache/image-search/elasticsearch
ES_PORT ?= 9200

.PHONY: install run serve test lint demo-photos index bench clean es es-stop messages

# The interface's catalogs: translations/<lang>/LC_MESSAGES/messages.po in the repository, compiled here
# (the .mo files are not committed).
CATALOGS := $(wildcard translations/*/LC_MESSAGES/messages.po)
PYBABEL := $(VENV)/bin/pybabel

install: $(VENV)/.installed $(CATALOGS:.po=.mo)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(PYBABEL) compile --statistics -i $< -o $@

# lazy_gettext: the form labels and messages, made once at import and translated per request.
messages: install
	$(PYBABEL) extract -F babel.cfg -k lazy_gettext --add-location=file --sort-by-file --project=image_search \
	   -o translations/messages.pot .
	$(PYBABEL) update -i translations/messages.pot -d translations --no-fuzzy-matching --width=120

# torch is pinned to the CPU build on this disk/PyPI; an unpinned torch pulls several GB of CUDA.
$(VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,demo,lint]'
	$(PY) -m image_search.embedders.offline.prepare_data  # the offline model's foreign class names (4.6 MB, not committed)
	touch $@

# Demo photos come from registry packages, never from the repository:
# scikit-image's sample photos (PyPI) and, where apt is available, Debian's darknet and tuxpaint-data, and two
# mountain photos of lomiri-wallpapers-16.04 (Aitzol Berasategi, CC-BY-4.0: Picos de Europa with snow, for the
# reference design's "눈 덮인 산", and Aitzgorri without).
DEMO_DEBS := darknet tuxpaint-data lomiri-wallpapers-16.04
LOMIRI_PHOTOS := picosdeeuropa_by_Aitzol_Berasategi.jpg aitzgorri_by_Aitzol_Berasategi.jpg
demo-photos: $(DEMO)/.fetched
$(DEMO)/.fetched: | install
	mkdir -p $(DEMO) demo/debs
	$(PY) -m image_search.demo_photos $(DEMO)/scikit-image
	-cd demo/debs && (apt-get download -q $(DEMO_DEBS) 2>/dev/null \
	   || (apt-get update -qq && apt-get download -q $(DEMO_DEBS)))
	-for deb in demo/debs/*.deb; do dpkg-deb -x $$deb demo/debs/unpacked; done
	-mkdir -p $(DEMO)/darknet $(DEMO)/tuxpaint $(DEMO)/lomiri \
	   && cp demo/debs/unpacked/usr/share/darknet/data/*.jpg $(DEMO)/darknet/ \
	   && cp demo/debs/unpacked/usr/share/tuxpaint/templates/*.jpg $(DEMO)/tuxpaint/ \
	   && cp $(addprefix demo/debs/unpacked/usr/share/backgrounds/,$(LOMIRI_PHOTOS)) $(DEMO)/lomiri/
	touch $@

index: demo-photos
	$(FLASK) index --prune $(DEMO)

run: index
	$(FLASK) run --host 127.0.0.1 --port 5000

# Production: waitress with its limits set in image_search/serve.py (4 request threads, each with
# WEB_THREADS=1 math thread; connection limit, idle timeout, body limit), loopback only.
serve: index
	$(PY) -m image_search.serve --host 127.0.0.1 --port 5000

test: install
	$(VENV)/bin/pytest -q

# Settings in pyproject.toml ([tool.ruff], [tool.mypy]); mypy checks image_search/.
lint: install
	$(VENV)/bin/ruff check image_search tests bench
	$(VENV)/bin/ruff format --check image_search tests bench
	$(VENV)/bin/mypy

# Every figure of the README's Performance and Reliability sections (the full 1M-vector ANN run,
# about 40 minutes on 2 cores, is `$(PY) bench/bench_ann.py`).
bench: install
	$(PY) bench/bench_offline.py
	$(PY) -m bench.bench_clip
	$(PY) bench/bench_indexing.py
	$(PY) bench/bench_query.py
	$(PY) bench/bench_ann.py --n 100000
	$(PY) bench/crash_harness.py
	$(PY) bench/load_test.py

# Elastic's own server jars (8.14.3) from Maven Central, three nodes in one JVM: es/local-cluster, es/pom.xml.
es:
	es/local-cluster start $(ES_DIR) $(ES_PORT)

es-stop:
	es/local-cluster stop $(ES_DIR)

clean:
	rm -rf $(VENV) demo instance/data translations/*/LC_MESSAGES/*.mo
