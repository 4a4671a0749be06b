//! Embeds every `migrations/*.sql` file into the binary, in name order.
//!
//! Writes `$OUT_DIR/migrations.rs`, a slice of `Migration { name, sql: include_str!(..) }` that
//! `store::migrate` includes. Cargo re-runs this script whenever anything in `migrations/`
//! changes (a new file, an edited file), so the binary always carries the files it was built
//! next to.

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dir = manifest_dir.join("..").join("migrations");
    println!("cargo:rerun-if-changed={}", dir.display());

    let mut files = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let is_sql = path.extension().is_some_and(|ext| ext == "sql");
            if is_sql && path.is_file() {
                files.push(path);
            }
        }
    } else {
        println!("cargo:warning=no migrations directory at {}", dir.display());
    }
    files.sort();

    let mut out = String::from("&[\n");
    for path in &files {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("migration file name is not UTF-8: {}", path.display()))?;
        let absolute = path.canonicalize()?;
        let absolute = absolute
            .to_str()
            .ok_or_else(|| format!("migration path is not UTF-8: {}", absolute.display()))?;
        writeln!(
            out,
            "    Migration {{ name: {name:?}, sql: include_str!({absolute:?}) }},"
        )?;
    }
    out.push(']');

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("migrations.rs"), out)?;
    Ok(())
}
