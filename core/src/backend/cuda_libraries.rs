//! Loading CUDA's libraries when a run asks for a GPU, not when the program starts.
//!
//! A CUDA build made by `tools/cuda/build.sh` names none of the driver, nvrtc or cuBLAS as a
//! dependency, and binds their symbols at first call. So the same binary starts, and trains on
//! the CPU, on a machine without them; `--device cuda` then loads them here, asks the driver for
//! devices, and says what is missing, before dfdx's device (which panics on a missing device) is
//! created. A build linked the usual way finds the libraries already loaded, and the check still
//! runs.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};

/// Why CUDA cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CudaUnavailable {
    #[error(
        "no CUDA driver found: {library} could not be loaded ({reason}); install the NVIDIA driver or run with `--device cpu`"
    )]
    NoDriver { library: String, reason: String },
    #[error("the CUDA driver is there but {symbol} is missing from it ({reason})")]
    DriverSymbol { symbol: String, reason: String },
    #[error("the CUDA driver did not start: {call} returned {name} ({code}){hint}")]
    Driver { call: &'static str, code: i32, name: String, hint: &'static str },
    #[error("no CUDA device {ordinal}: the driver sees {count} device(s); run with `--device cpu`")]
    NoDevice { ordinal: usize, count: usize },
    #[error("CUDA's {part} library is missing: none of {tried} could be loaded ({reason})")]
    Library { part: &'static str, tried: String, reason: String },
}

/// The driver library's names, most specific first.
pub const DRIVER: &[&str] = &["libcuda.so.1", "libcuda.so"];
/// The runtime compiler and cuBLAS, the CUDA major this build was made with first.
pub const NVRTC: &[&str] = &["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"];
pub const CUBLAS: &[&str] = &["libcublas.so.13", "libcublas.so.12", "libcublas.so"];

/// `CUDA_ERROR_NO_DEVICE`.
const NO_DEVICE: i32 = 100;

/// A library opened for the whole process, its symbols global so that the calls the binary
/// left unbound resolve to it. Never closed: the process uses it until it exits.
struct Opened(*mut c_void);

fn open(name: &str) -> Result<Opened, String> {
    let c_name = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: dlopen with a valid C string; dlerror is read right after on this thread.
    unsafe {
        let handle = libc::dlopen(c_name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if handle.is_null() { Err(last_dl_error()) } else { Ok(Opened(handle)) }
    }
}

fn open_first(names: &[&str]) -> Result<(String, Opened), String> {
    let mut reasons = Vec::new();
    for name in names {
        match open(name) {
            Ok(lib) => return Ok((name.to_string(), lib)),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(reasons.join("; "))
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns null or a C string valid until the next dl call on this thread.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() { "unknown error".into() } else { CStr::from_ptr(e).to_string_lossy().into_owned() }
    }
}

impl Opened {
    fn symbol(&self, name: &str) -> Result<*mut c_void, CudaUnavailable> {
        let missing = |reason: String| CudaUnavailable::DriverSymbol { symbol: name.to_string(), reason };
        let c_name = CString::new(name).map_err(|e| missing(e.to_string()))?;
        // SAFETY: the handle is open for the life of the process.
        let address = unsafe { libc::dlsym(self.0, c_name.as_ptr()) };
        if address.is_null() { Err(missing(last_dl_error())) } else { Ok(address) }
    }
}

/// Loads the driver from `names`, starts it and counts its devices: an error unless device
/// `ordinal` exists.
pub fn probe_driver(names: &[&str], ordinal: usize) -> Result<usize, CudaUnavailable> {
    let (_, driver) =
        open_first(names).map_err(|reason| CudaUnavailable::NoDriver { library: names.join(" or "), reason })?;
    type Init = unsafe extern "C" fn(c_uint) -> c_int;
    type Count = unsafe extern "C" fn(*mut c_int) -> c_int;
    type ErrorName = unsafe extern "C" fn(c_int, *mut *const c_char) -> c_int;
    // SAFETY: the symbols have these signatures in every CUDA driver (cuda.h).
    let (init, count, error_name) = unsafe {
        (
            std::mem::transmute::<*mut c_void, Init>(driver.symbol("cuInit")?),
            std::mem::transmute::<*mut c_void, Count>(driver.symbol("cuDeviceGetCount")?),
            driver.symbol("cuGetErrorName").ok().map(|s| std::mem::transmute::<*mut c_void, ErrorName>(s)),
        )
    };
    let failed = |call: &'static str, code: c_int| {
        let mut name: *const c_char = std::ptr::null();
        // SAFETY: cuGetErrorName writes a pointer to a static string, or leaves null.
        let name = match error_name {
            Some(f) if unsafe { f(code, &mut name) } == 0 && !name.is_null() => {
                unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
            }
            _ => "an error".to_string(),
        };
        let hint = if code == NO_DEVICE { ": this machine has no CUDA device; run with `--device cpu`" } else { "" };
        CudaUnavailable::Driver { call, code, name, hint }
    };
    // SAFETY: plain driver calls with valid arguments.
    let code = unsafe { init(0) };
    if code != 0 {
        return Err(failed("cuInit", code));
    }
    let mut devices: c_int = 0;
    let code = unsafe { count(&mut devices) };
    if code != 0 {
        return Err(failed("cuDeviceGetCount", code));
    }
    let devices = devices.max(0) as usize;
    if ordinal >= devices {
        return Err(CudaUnavailable::NoDevice { ordinal, count: devices });
    }
    Ok(devices)
}

/// Loads the first of `names` that opens, for `part` of CUDA.
pub fn load(part: &'static str, names: &[&str]) -> Result<String, CudaUnavailable> {
    open_first(names).map(|(name, _)| name).map_err(|reason| CudaUnavailable::Library {
        part,
        tried: names.join(", "),
        reason,
    })
}

/// Everything a CUDA device needs, loaded and checked: the driver with device `ordinal`, nvrtc
/// and cuBLAS. Cheap after the first call.
pub fn ensure(ordinal: usize) -> Result<(), CudaUnavailable> {
    probe_driver(DRIVER, ordinal)?;
    load("nvrtc", NVRTC)?;
    load("cuBLAS", CUBLAS)?;
    Ok(())
}

/// The current device's memory in use, bytes (`cuMemGetInfo`: total less free), on the thread
/// that made the device; `None` where the driver cannot say.
pub fn memory_in_use() -> Option<u64> {
    type MemGetInfo = unsafe extern "C" fn(*mut usize, *mut usize) -> c_int;
    let name = CString::new("cuMemGetInfo_v2").ok()?;
    // SAFETY: the driver was loaded with global symbols by `ensure`; the symbol has this
    // signature (cuda.h), and writes two sizes.
    unsafe {
        let address = libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr());
        if address.is_null() {
            return None;
        }
        let get = std::mem::transmute::<*mut c_void, MemGetInfo>(address);
        let (mut free, mut total) = (0usize, 0usize);
        (get(&mut free, &mut total) == 0).then(|| (total - free) as u64)
    }
}
