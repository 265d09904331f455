//! Helpers shared by the benchmark binaries (each includes this file as a module).

/// The value after `name` on the command line (`--posts 1000`), if given.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Whether this is a measuring run (`cargo bench` passes `--bench`), not the smoke run of
/// `cargo test --bench`.
pub fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}
