//! What the end-to-end and telemetry suites (two test binaries of this crate) share: how long a
//! test waits for an effect, and an Alfred's environment with a test's overrides.

use std::time::Duration;

use alfred_testkit::db::TestDb;
use alfred_testkit::graph::FakeGraph;

/// What a suite's Alfred signs, verifies and authenticates with; each suite has its own.
pub struct Credentials {
    pub app_secret: &'static str,
    pub verify_token: &'static str,
    pub meta_token: &'static str,
    pub phone_id: &'static str,
    pub admin_key: &'static str,
}

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

/// Alfred-Home's variables for a test: both listeners on port 0, the test's database and fake
/// Graph API, and the suite's `credentials`. Redis (`REDIS_URL`, `REDIS_KEY_PREFIX`) is for the
/// suite to add.
pub fn home_env(
    credentials: &Credentials,
    db: &TestDb,
    graph: &FakeGraph,
) -> Vec<(&'static str, String)> {
    vec![
        ("INSTANCE", "home".to_owned()),
        ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ("ADMIN_API_KEY", credentials.admin_key.to_owned()),
        ("DATABASE_URL", db.url().to_owned()),
        ("META_TOKEN", credentials.meta_token.to_owned()),
        ("PHONE_ID", credentials.phone_id.to_owned()),
        ("VERIFY_TOKEN", credentials.verify_token.to_owned()),
        ("APP_SECRET", credentials.app_secret.to_owned()),
        ("GRAPH_API_URL", graph.url()),
        ("GRAPH_API_VERSION", "v21.0".to_owned()),
    ]
}
