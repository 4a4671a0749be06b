//! What the end-to-end and telemetry suites (two test binaries of this crate) share: how long a
//! test waits for an effect, and an Alfred's environment with a test's overrides.

use std::time::Duration;

/// How long a test waits for an effect before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `check` until it returns `Some`, failing the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    alfred_testkit::eventually(what, DEADLINE, check).await
}

/// The variables `base`, each replaced by the one of the same name in `extra`; the rest of
/// `extra` comes after them.
pub fn env_with(base: Vec<(&str, String)>, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = base
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    for (key, value) in extra {
        vars.retain(|(k, _)| k != key);
        vars.push(((*key).to_owned(), value.clone()));
    }
    vars
}
