//! Gives libstrom.so its soname, so that programs linked against it load
//! `libstrom.so.0` and a compatible update can replace the file.
fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libstrom.so.{major}");
}
