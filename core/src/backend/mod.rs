//! The dfdx backend: a checked graph built as a computation on a device.
//!
//! Model sizes come from files, so nothing here uses dfdx's compile-time shaped `nn` modules:
//! parameters are runtime-shaped tensors in a [`ParamStore`] keyed by layer path, each layer
//! plugin builds its forward from the tensor ops in [`ops`], and the hot spots have fused CPU
//! kernels ([`kernels`]) registered as custom autodiff ops. CUDA runs the composite ops.
//!
//! Shape legend used in comments: `B` batch, `T` context, `C` width, `H` heads, `Dh` head width,
//! `F` feed-forward width, `V` vocabulary, `N = B * T` rows.

pub mod conformance;
#[cfg(unix)]
pub mod cuda_libraries;
pub mod forward;
pub mod gradcheck;
pub mod kernels;
pub mod layers;
pub mod model;
pub mod ops;
pub mod optim;
pub mod params;

pub use forward::{Act, Build, Cx, Flow, Forward, On, Select, Tokens};
pub use kernels::Kernels;
pub use layers::Forwards;
#[cfg(feature = "cuda")]
pub use model::cuda_device;
pub use model::{BuildConfig, BuildError, DeviceKind, Model, Trainer, build, device_available};
pub use ops::{Fusion, Mode};
pub use optim::Adam;
pub use params::ParamStore;

use dfdx::prelude::{NoneTape, Tensor};

/// Runtime-shaped tensors of rank 1 to 4.
pub type Tensor1<E, D, T = NoneTape> = Tensor<(usize,), E, D, T>;
pub type Tensor2<E, D, T = NoneTape> = Tensor<(usize, usize), E, D, T>;
pub type Tensor3<E, D, T = NoneTape> = Tensor<(usize, usize, usize), E, D, T>;
pub type Tensor4<E, D, T = NoneTape> = Tensor<(usize, usize, usize, usize), E, D, T>;

/// Keeps the large per-step buffers in the process: glibc would otherwise unmap or trim them on
/// free and every step would page-fault them in again (measured: 13-20 % of a CPU step).
/// 32 MiB is the largest mmap threshold glibc accepts. Called by every CPU build (idempotent).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
