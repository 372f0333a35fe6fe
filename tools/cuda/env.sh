# Sourced by build.sh, and by hand before `cargo test --release --features cuda --no-run`:
# installs the pinned CUDA toolkit from NVIDIA's pip wheels into target/cuda-sdk when missing,
# and sets the environment a CUDA build of tinyarch needs on a machine without a GPU.
#
# The toolkit is CUDA 13.0: CUDA 13 is the first whose wheels carry nvcc (the CUDA 12 wheels have
# only ptxas), and 13.0 asks the least of the GPU machine's driver (R580) among the 13.x releases.
# The binary names no CUDA library as a dependency: it links against empty stand-ins, leaves the
# CUDA symbols to be bound at their first call, and loads the driver, nvrtc and cuBLAS at run time
# when `--device cuda` asks for them (core/src/backend/cuda_libraries.rs).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
sdk=$repo/target/cuda-sdk
cuda_version=13.0
root=$sdk/cuda-$cuda_version
stubs=$sdk/stubs
if [ ! -x "$root/bin/nvcc" ]; then
    python3 -m venv "$sdk/venv"
    "$sdk/venv/bin/pip" install -q \
        nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-cccl==13.0.85 \
        nvidia-cuda-runtime==13.0.96 nvidia-cuda-nvrtc==13.0.88 nvidia-cublas==13.0.2.14
    site=$("$sdk/venv/bin/python" -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))')/nvidia
    # CUDA 13's wheels share one tree, nvidia/cu13/{bin,include,lib,nvvm}: nvcc finds cicc in
    # nvvm/, and cccl's headers (nv/target, which every dfdx kernel includes) under include/.
    rm -rf "$root" && mkdir -p "$root"
    cp -r "$site/cu13/." "$root/"
    # dfdx's build script only asks nvidia-smi for the compute capability: 9.0, an H100 or H200.
    printf '#!/bin/sh\necho compute_cap\necho 9.0\n' > "$root/bin/nvidia-smi"
    chmod +x "$root/bin/nvidia-smi"
fi
# Empty libraries under the names cudarc links (-lcuda -lnvrtc -lcublas -lcublasLt). They define
# nothing, so the linker records none of them; no wheel ships the driver library anyway.
mkdir -p "$stubs"
if [ ! -f "$stubs/libcuda.so" ]; then
    echo 'void tinyarch_cuda_stand_in(void) {}' > "$stubs/empty.c"
    for lib in cuda nvrtc cublas cublasLt; do
        cc -shared -fPIC -o "$stubs/lib$lib.so" "$stubs/empty.c"
    done
fi
export CUDA_ROOT=$root CUDA_PATH=$root PATH=$root/bin:$PATH
# One target folder per toolkit: dfdx's build script does not rerun when the toolkit changes.
export CARGO_TARGET_DIR=$repo/target/cuda-$cuda_version
# Partial RELRO keeps calls into shared libraries lazy (through the PLT), so the CUDA symbols left
# unresolved at link time are bound at first call, once the libraries are loaded. The rpath
# finds CUDA libraries carried in a `lib/` folder beside the binary.
export RUSTFLAGS="-C relro-level=partial -L native=$stubs -C link-arg=-Wl,--unresolved-symbols=ignore-all -C link-arg=-Wl,-rpath,\$ORIGIN/lib"
