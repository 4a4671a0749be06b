//! The start-up every fake HTTP server shares, and polling for what it received.
//!
//! [`RunningServer::start`] runs an actix-web server on `127.0.0.1` in a thread of its own, with
//! its own actix system and one worker, so that a test on any runtime (tokio or actix) can use
//! it; it returns once the server listens, and dropping the [`RunningServer`] stops it (at once,
//! not gracefully). A fake only says what it serves:
//!
//! ```ignore
//! let data = web::Data::from(state.clone());
//! let server = RunningServer::start("fake-graph", "fake Graph API", 0, move |config| {
//!     config
//!         .app_data(data.clone())
//!         .route("/{version}/{phone_id}/messages", web::post().to(messages));
//! })
//! .await;
//! ```
//!
//! [`poll_until`] is the fakes' `wait_for_requests`: poll a value until it is what the test
//! waits for, or a deadline passes. [`bearer_token`] reads the token a request carries.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpServer};

/// How often [`poll_until`] looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// A fake HTTP server running in its own thread; stops when dropped.
pub struct RunningServer {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl RunningServer {
    /// Starts a server on `127.0.0.1:{port}` (0: any free port) whose app is set up by
    /// `configure` (routes, app data), in a thread named `thread` running its own actix
    /// system with one worker and no signal handling. Returns once the server listens.
    ///
    /// Panics, naming `what` (e.g. `"fake Graph API"`), when the port cannot be bound or the
    /// thread cannot be spawned.
    pub async fn start<F>(thread: &str, what: &str, port: u16, configure: F) -> RunningServer
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let bind_failed = format!("bind the {what}");
        std::thread::Builder::new()
            .name(thread.to_owned())
            .spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || App::new().configure(configure.clone()))
                        .workers(1)
                        .disable_signals()
                        .shutdown_timeout(0)
                        .bind(("127.0.0.1", port))
                        .expect(&bind_failed);
                    let addr = server.addrs()[0];
                    let server = server.run();
                    let _ = ready_tx.send((addr, server.handle()));
                    let _ = server.await;
                });
            })
            .unwrap_or_else(|error| panic!("spawn the {what} thread: {error:?}"));
        let (addr, handle) = ready_rx
            .await
            .unwrap_or_else(|error| panic!("the {what} started: {error:?}"));
        RunningServer { addr, handle }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; the returned future only waits.
        drop(self.handle.stop(false));
    }
}

/// The token of the request's `Authorization: Bearer …` header, if it has one.
pub fn bearer_token(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// Reads `probe` every 10 ms until `done` holds for what it read or `deadline` has passed,
/// and returns the last value read (checked against the deadline only after reading, so a
/// zero deadline still reads once).
pub async fn poll_until<T>(
    deadline: Duration,
    mut probe: impl FnMut() -> T,
    mut done: impl FnMut(&T) -> bool,
) -> T {
    let until = Instant::now() + deadline;
    loop {
        let value = probe();
        if done(&value) || Instant::now() >= until {
            return value;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use actix_web::HttpResponse;

    use super::*;

    async fn hello(hits: web::Data<AtomicUsize>) -> HttpResponse {
        hits.fetch_add(1, Ordering::Relaxed);
        HttpResponse::Ok().body("hello")
    }

    async fn start_hello(hits: Arc<AtomicUsize>) -> RunningServer {
        let data = web::Data::from(hits);
        RunningServer::start("fake-hello", "fake hello server", 0, move |config| {
            config
                .app_data(data.clone())
                .route("/hello", web::get().to(hello));
        })
        .await
    }

    #[actix_rt::test]
    async fn serves_the_configured_routes_and_app_data() {
        let hits = Arc::new(AtomicUsize::new(0));
        let server = start_hello(hits.clone()).await;
        assert!(server.addr().ip().is_loopback());
        assert_ne!(server.addr().port(), 0);
        let client = awc::Client::default();
        let url = format!("http://{}/hello", server.addr());
        let mut response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().await.unwrap(), "hello");
        let missing = client
            .get(format!("http://{}/nothing", server.addr()))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(hits.load(Ordering::Relaxed), 1);
    }

    #[actix_rt::test]
    async fn stops_listening_when_dropped() {
        let server = start_hello(Arc::new(AtomicUsize::new(0))).await;
        let addr = server.addr();
        assert!(std::net::TcpStream::connect(addr).is_ok());
        drop(server);
        let refused = poll_until(
            Duration::from_secs(10),
            || std::net::TcpStream::connect(addr).is_err(),
            |refused| *refused,
        )
        .await;
        assert!(refused, "the server still accepts connections after drop");
    }

    #[actix_rt::test]
    async fn binds_the_port_asked_for() {
        let port = crate::free_port();
        let server = RunningServer::start("fake-port", "fake port server", port, |_| {}).await;
        assert_eq!(server.addr().port(), port);
    }

    #[actix_rt::test]
    #[should_panic(expected = "the fake busy server started")]
    async fn a_taken_port_panics_naming_the_fake() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let _server = RunningServer::start("fake-busy", "fake busy server", port, |_| {}).await;
    }

    #[test]
    fn bearer_token_is_the_text_after_bearer() {
        use actix_web::test::TestRequest;
        let with = |value: &str| {
            bearer_token(
                &TestRequest::default()
                    .insert_header(("Authorization", value))
                    .to_http_request(),
            )
        };
        assert_eq!(with("Bearer xoxb-123").as_deref(), Some("xoxb-123"));
        assert_eq!(with("Basic dXNlcjpwYXNz"), None);
        assert_eq!(
            bearer_token(&TestRequest::default().to_http_request()),
            None
        );
    }

    #[actix_rt::test]
    async fn poll_until_returns_once_done() {
        let mut reads = 0;
        let value = poll_until(
            Duration::from_secs(10),
            || {
                reads += 1;
                reads
            },
            |reads| *reads >= 3,
        )
        .await;
        assert_eq!(value, 3);
    }

    #[actix_rt::test]
    async fn poll_until_returns_the_last_value_after_the_deadline() {
        let value = poll_until(Duration::from_millis(50), || 7, |_| false).await;
        assert_eq!(value, 7);
    }

    #[actix_rt::test]
    async fn poll_until_reads_once_with_a_zero_deadline() {
        let mut reads = 0;
        poll_until(Duration::ZERO, || reads += 1, |_| false).await;
        assert_eq!(reads, 1);
    }
}
