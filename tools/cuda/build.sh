#!/usr/bin/env bash
# Builds tinyarch with CUDA on a machine without a GPU, and packs what a GPU machine needs.
# See tools/cuda/README.md. Untested on a GPU so far.
set -euo pipefail
cd "$(dirname "$0")/../.."
sdk=target/cuda-sdk
python3 -m venv "$sdk/venv"
"$sdk/venv/bin/pip" install -q nvidia-cuda-nvcc nvidia-cuda-runtime nvidia-cuda-nvrtc nvidia-cublas
site=$("$sdk/venv/bin/python" -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))')/nvidia
root="$sdk/root"
mkdir -p "$root/bin" "$root/include" "$root/lib64"
for part in cuda_nvcc cuda_runtime cuda_nvrtc cublas; do
    [ -d "$site/$part/include" ] && cp -rn "$site/$part/include/." "$root/include/"
    [ -d "$site/$part/lib" ] && cp -rn "$site/$part/lib/." "$root/lib64/"
    [ -d "$site/$part/bin" ] && cp -rn "$site/$part/bin/." "$root/bin/"
done
# The build script only asks nvidia-smi for the compute capability.
cat > "$root/bin/nvidia-smi" <<'SMI'
#!/bin/sh
echo "compute_cap"
echo "9.0"
SMI
chmod +x "$root/bin/nvidia-smi"
export CUDA_ROOT="$PWD/$root" CUDA_PATH="$PWD/$root"
export PATH="$PWD/$root/bin:$PATH" LIBRARY_PATH="$PWD/$root/lib64:${LIBRARY_PATH:-}"
cargo build --release --features cuda
bundle=target/cuda-bundle
rm -rf "$bundle" && mkdir -p "$bundle/data/tiny-shakespeare"
cp target/release/tinyarch tools/cuda/on_gpu.sh "$bundle/"
cp -r models "$bundle/"
cp "${TINYARCH_DATA:-../shared/corpora}/tiny-shakespeare/input.txt" "$bundle/data/tiny-shakespeare/"
tar -C target -czf target/cuda-bundle.tar.gz cuda-bundle
ls -lh target/cuda-bundle.tar.gz
