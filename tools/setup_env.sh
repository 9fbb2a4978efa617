#!/usr/bin/env bash
# Creates (or completes) .venv with the pinned OpenMMLab stack. Every step checks what is already
# there and skips itself, so re-running is fast and an interrupted run resumes where it stopped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMATTN_VENV:-$ROOT/.venv}"
CACHE="${MMATTN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmattn}"
PY="$VENV/bin/python"
STAMPS="$VENV/.mmattn-stamps"
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[setup_env] %s\n' "$*"; }
pip_install() { "$PY" -m pip install --progress-bar off "$@"; }
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$STAMPS"; printf '%s' "$2" > "$STAMPS/$1"; }

# 1. the virtual environment itself (recreated when broken, e.g. a half-written one)
if ! "$PY" -c 'import pip' >/dev/null 2>&1; then
    log "creating $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
fi

# 2. build tools (mmcv's setup.py and mmengine need pkg_resources, gone in setuptools 82)
if ! stamp_ok base v1; then
    pip_install "setuptools>=77,<82" wheel ninja numpy
    stamp_set base v1
fi

# 3. torch + torchvision ('===' selects the PyPI build; '==' would pick the local +cpu wheel that
#    torchvision 0.28 cannot load)
if ! "$PY" -c 'import torch, torchvision, torchvision.ops
assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)' >/dev/null 2>&1; then
    log "installing torch 2.13.0 and torchvision 0.28.0"
    pip_install "torch===2.13.0" "torchvision==0.28.0"
fi
TORCH_TAG="$("$PY" -c 'import sys, torch; print(f"torch{torch.__version__}-cp{sys.version_info[0]}{sys.version_info[1]}")')"

# 4. mmcv 2.1.0 compiled with its ops against *this* torch. The built wheel is cached per torch version,
#    because a wheel built against another torch is ABI-incompatible.
if ! "$PY" -c 'import mmcv, mmcv.ops; from mmcv import _ext; assert mmcv.__version__ == "2.1.0"' >/dev/null 2>&1; then
    WHEEL_DIR="$CACHE/mmcv-wheels/$TORCH_TAG"
    WHEEL="$(ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)"
    if [ -z "$WHEEL" ]; then
        log "building mmcv 2.1.0 with ops against $TORCH_TAG (10-15 minutes on 2 cores)"
        mkdir -p "$CACHE"
        rm -rf "$CACHE"/build.*   # left by an interrupted build
        TMP="$(mktemp -d "$CACHE/build.XXXXXX")"
        MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "$PY" -m pip wheel --no-build-isolation --no-deps \
            --no-cache-dir --progress-bar off -w "$TMP" mmcv==2.1.0
        mkdir -p "$WHEEL_DIR"
        mv "$TMP"/mmcv-2.1.0-*.whl "$WHEEL_DIR"/   # only a finished wheel ever lands in the cache
        rm -rf "$TMP"
        WHEEL="$(ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl | head -n 1)"
    else
        log "reusing cached $WHEEL"
    fi
    pip_install --no-deps --force-reinstall "$WHEEL"
fi

# 5. the downstream libraries, test tools and this package; keyed by the requirement files' content
REQ_HASH="$(cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" 2>/dev/null | sha256sum | cut -c1-16)"
if ! stamp_ok packages "$REQ_HASH"; then
    log "installing mmengine, mmpretrain, mmdet, mmsegmentation and test tools"
    pip_install -c "$ROOT/requirements/stack.txt" \
        -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/mminstall.txt" \
        -r "$ROOT/requirements/downstream.txt" -r "$ROOT/requirements/tests.txt" \
        -r "$ROOT/requirements/docs.txt"
    pip_install "setuptools>=77,<82"   # later installs may have upgraded it past 82
    pip_install --no-deps --no-build-isolation -e "$ROOT"
    stamp_set packages "$REQ_HASH"
fi

# 6. mmattn's own CPU kernels (mmattn/models/layers/csrc), cached per source and torch version; a no-op when built
"$PY" -c 'from mmattn.models.layers.cpu_kernels import load_cpu_kernels as load; load(strict=True)' 
log "environment ready: $VENV"
