//! What the C ABI's tests share.

use std::path::PathBuf;

/// Where cargo put libtidings_ffi.so: target/<profile>/deps (always, when
/// tests are built) or target/<profile> (after a plain build).
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let deps = exe.parent().map(PathBuf::from).unwrap_or_default();
    if deps.join("libtidings_ffi.so").exists() {
        deps
    } else {
        deps.parent().map(PathBuf::from).unwrap_or(deps)
    }
}
