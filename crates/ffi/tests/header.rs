//! The checked-in header must be what cbindgen makes of the current ABI.

#[test]
fn checked_in_header_is_current() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/tidings.h"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/tidings.h");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var_os("TIDINGS_BLESS").is_some() {
        std::fs::write(path, generated).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        return;
    }
    assert!(
        checked_in == generated,
        "include/tidings.h is stale: run `TIDINGS_BLESS=1 cargo test -p tidings-ffi --test header` and commit it"
    );
}
