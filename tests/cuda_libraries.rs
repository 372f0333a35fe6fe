//! CUDA's libraries are loaded when a run asks for a GPU: with stand-in drivers built here, a
//! missing driver, a driver without a device and a driver without a symbol each give their own
//! error instead of a loader error or a panic. (The CUDA binary itself is checked the same way
//! by `tools/cuda/check-binary.sh`.)
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tinyarch::backend::cuda_libraries::{CudaUnavailable, load, probe_driver};

/// Compiles `source` as a shared library named `name` in a scratch folder.
fn stand_in(name: &str, source: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cuda-stand-ins");
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let lib = dir.join(format!("{name}.so"));
    let status = Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&c).status().unwrap();
    assert!(status.success(), "cc failed for {name}");
    lib
}

const ERROR_NAME: &str = r#"
int cuGetErrorName(int code, const char **name) {
    *name = code == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN";
    return 0;
}
"#;

fn driver(name: &str, init: i32, devices: i32) -> String {
    stand_in(
        name,
        &format!("{ERROR_NAME}\nint cuInit(unsigned f) {{ return {init}; }}\nint cuDeviceGetCount(int *n) {{ *n = {devices}; return 0; }}\n"),
    )
    .display()
    .to_string()
}

#[test]
fn no_driver_is_named_with_the_loader_reason() {
    let err = probe_driver(&["/nonexistent/libcuda.so.1"], 0).unwrap_err();
    assert!(matches!(err, CudaUnavailable::NoDriver { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("no CUDA driver found"), "{text}");
    assert!(text.contains("--device cpu"), "{text}");
}

#[test]
fn a_driver_without_a_gpu_says_so() {
    // What a machine with the driver installed but no GPU answers to cuInit.
    let err = probe_driver(&[&driver("no_gpu", 100, 0)], 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the CUDA driver did not start: cuInit returned CUDA_ERROR_NO_DEVICE (100): this machine has no CUDA device; run with `--device cpu`"
    );
    // A driver that starts but counts no device, or fewer than asked for.
    let err = probe_driver(&[&driver("zero_devices", 0, 0)], 0).unwrap_err();
    assert_eq!(err, CudaUnavailable::NoDevice { ordinal: 0, count: 0 });
    let err = probe_driver(&[&driver("one_device", 0, 1)], 1).unwrap_err();
    assert_eq!(err, CudaUnavailable::NoDevice { ordinal: 1, count: 1 });
}

#[test]
fn a_driver_with_a_device_passes_and_the_first_name_that_opens_wins() {
    let one = driver("one_device_ok", 0, 1);
    assert_eq!(probe_driver(&["/nonexistent/libcuda.so.1", &one], 0), Ok(1));
}

#[test]
fn a_driver_missing_a_symbol_is_an_error() {
    let lib = stand_in("no_count", "int cuInit(unsigned f) { return 0; }\n");
    let err = probe_driver(&[&lib.display().to_string()], 0).unwrap_err();
    assert!(matches!(&err, CudaUnavailable::DriverSymbol { symbol, .. } if symbol == "cuDeviceGetCount"), "{err:?}");
}

#[test]
fn a_missing_library_lists_the_names_tried() {
    let err = load("cuBLAS", &["/nonexistent/libcublas.so.13", "/nonexistent/libcublas.so.12"]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "CUDA's cuBLAS library is missing: none of /nonexistent/libcublas.so.13, /nonexistent/libcublas.so.12"
        ),
        "{text}"
    );
}
