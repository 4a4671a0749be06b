//! Link settings of the `alfred` binaries (see docs/adr/2026-12-03-idle-memory.md).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    // Relative relocations packed as DT_RELR: the ~53,000 relative relocations of the
    // position-independent binary take ~20 KB instead of 1.3 MB of `.rela.dyn`, which the dynamic
    // loader reads at every start and which then stays resident. The binary stays a PIE (address
    // randomisation kept). Needs glibc 2.36 at run time (Debian bookworm, the image's base) and a
    // linker that knows the option (GNU ld 2.38, lld 15, mold).
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
