//! A TCP fault proxy: put it between Alfred and Redis or Postgres to add latency and to cut
//! connections, in-process, without root or `tc`.
//!
//! [`FaultProxy::start`] listens on 127.0.0.1 (a free port) and forwards every connection to
//! one upstream address, byte for byte in both directions. While it runs:
//!
//! * [`FaultProxy::set_latency`] delays every chunk forwarded from then on, in each direction
//!   (a request and its answer each wait once: a round trip costs about twice the latency);
//! * [`FaultProxy::cut`] closes every open connection at once, both sides, as a dropped
//!   network path or a restarted load balancer would; the client sees a reset or an end of
//!   stream mid-conversation. New connections are accepted again right away;
//! * [`FaultProxy::set_refusing`] closes new connections as soon as they are accepted (the
//!   path stays down) until it is turned off;
//! * [`FaultProxy::lose_answer_to`] loses the answer to one request: the next chunk a client
//!   sends that contains a given text is forwarded, and the connection is closed as soon as
//!   the upstream answers it, before the answer reaches the client — the request took effect
//!   and its sender cannot know. (Meant for one request per connection at a time: Postgres
//!   sends a statement's answer once it has committed, with `query_typed`'s single round trip.)
//!
//! Each connection is two tasks on the caller's tokio runtime (one per direction), watching a
//! cut counter: a cut bumps the counter and every task of an older generation drops its
//! sockets. The upstream address never changes, so an upstream restarted on the same port
//! (a private Redis or Postgres) is reached again by the next connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy's tasks share.
struct Shared {
    upstream: SocketAddr,
    latency_ms: AtomicU64,
    refusing: AtomicBool,
    /// Bumped by every cut; a connection belongs to the generation it was opened in.
    cuts: watch::Sender<u64>,
    open: AtomicUsize,
    accepted: AtomicU64,
    /// The text whose next request's answer is lost ([`FaultProxy::lose_answer_to`]).
    lose: Mutex<Option<Vec<u8>>>,
    /// Answers lost so far.
    lost: AtomicU64,
}

/// A running proxy; it stops accepting (and closes its connections) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free local port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (cuts, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            upstream,
            latency_ms: AtomicU64::new(0),
            refusing: AtomicBool::new(false),
            cuts,
            open: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            lose: Mutex::new(None),
            lost: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(FaultProxy {
            addr,
            shared,
            accept,
        })
    }

    /// Where clients connect (`127.0.0.1:{port}`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Delays every chunk forwarded from now on by `latency` (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.shared.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Closes every connection open now, both sides.
    pub fn cut(&self) {
        self.shared.cuts.send_modify(|generation| *generation += 1);
    }

    /// While `refusing`, closes each new connection as soon as it is accepted.
    pub fn set_refusing(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::Relaxed);
    }

    /// Loses the answer to the next request containing `text` (once; see the module doc).
    pub fn lose_answer_to(&self, text: &str) {
        *lock(&self.shared.lose) = Some(text.as_bytes().to_vec());
    }

    /// Answers lost so far by [`FaultProxy::lose_answer_to`].
    pub fn answers_lost(&self) -> u64 {
        self.shared.lost.load(Ordering::Relaxed)
    }

    /// Connections open through the proxy now.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::Relaxed)
    }

    /// Connections accepted since the start (refused ones included).
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, say: the next accept may work.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::Relaxed);
        if shared.refusing.load(Ordering::Relaxed) {
            drop(client);
            continue;
        }
        tokio::spawn(connect(client, shared.clone()));
    }
}

/// Opens the upstream side (a client whose upstream is down is closed, as a refused
/// connection would be) and forwards both ways until either side ends or a cut comes.
async fn connect(client: TcpStream, shared: Arc<Shared>) {
    let Ok(upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    shared.open.fetch_add(1, Ordering::Relaxed);
    let mut cuts = shared.cuts.subscribe();
    cuts.mark_unchanged();
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    // Set once this connection's next answer is to be lost.
    let losing = AtomicBool::new(false);
    let forward = async {
        tokio::join!(
            pipe(
                client_read,
                upstream_write,
                &shared,
                Direction::Request(&losing)
            ),
            pipe(
                upstream_read,
                client_write,
                &shared,
                Direction::Answer(&losing)
            ),
        )
    };
    tokio::select! {
        _ = forward => {}
        _ = cuts.changed() => {}
    }
    // Both halves of both sockets are dropped here: a cut closes the connection at once.
    shared.open.fetch_sub(1, Ordering::Relaxed);
}

/// Which way a pipe copies, with its connection's lost-answer flag.
#[derive(Clone, Copy)]
enum Direction<'a> {
    /// Client to upstream: arms the flag on a request containing the text to lose.
    Request(&'a AtomicBool),
    /// Upstream to client: once the flag is armed, drops the answer and ends the connection.
    Answer(&'a AtomicBool),
}

/// Locks a mutex, poisoned or not (the proxy's state stays valid either way).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Copies `from` to `to`, each chunk after the current latency; ends when either side does.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: &Shared,
    direction: Direction<'_>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        match direction {
            Direction::Request(losing) => {
                let mut lose = lock(&shared.lose);
                let matches = lose.as_deref().is_some_and(|text| {
                    !text.is_empty()
                        && buffer[..read]
                            .windows(text.len())
                            .any(|window| window == text)
                });
                if matches {
                    *lose = None;
                    losing.store(true, Ordering::SeqCst);
                }
            }
            Direction::Answer(losing) => {
                if losing.load(Ordering::SeqCst) {
                    shared.lost.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
        let latency = shared.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An upstream that echoes every byte back, on its own port.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
        stream.write_all(bytes).await.unwrap();
        let mut answer = vec![0u8; bytes.len()];
        stream.read_exact(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn the_proxy_forwards_bytes_both_ways() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"PING\r\n").await, b"PING\r\n");
        assert_eq!(proxy.open_connections(), 1);
    }

    #[tokio::test]
    async fn a_cut_closes_open_connections_and_new_ones_work() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut before = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut before, b"one").await, b"one");

        proxy.cut();

        // The old connection ends: its read sees the end of the stream (or a reset).
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(10), before.read_to_end(&mut rest))
            .await
            .expect("the cut connection was not closed");
        assert!(ended.is_err() || rest.is_empty());
        let mut after = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut after, b"two").await, b"two");
    }

    #[tokio::test]
    async fn latency_delays_each_direction() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        proxy.set_latency(Duration::from_millis(150));

        let started = Instant::now();
        assert_eq!(round_trip(&mut stream, b"slow").await, b"slow");

        // A lower bound only, which a sleep guarantees: there and back, 150 ms each.
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn a_refusing_proxy_closes_new_connections_until_told_otherwise() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        proxy.set_refusing(true);
        let mut refused = TcpStream::connect(proxy.addr()).await.unwrap();
        let _ = refused.write_all(b"x").await;
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), refused.read_to_end(&mut rest))
            .await
            .expect("the refused connection stayed open");
        assert!(read.is_err() || rest.is_empty());

        proxy.set_refusing(false);
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"back").await, b"back");
    }

    #[tokio::test]
    async fn a_lost_answer_reaches_the_upstream_but_not_the_client_once() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"before").await, b"before");
        proxy.lose_answer_to("CLAIM");

        stream.write_all(b"a CLAIM here").await.unwrap();
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
            .await
            .expect("the connection stayed open");
        assert!(read.is_err() || rest.is_empty(), "got {rest:?}");
        // The echo answered (the request reached it), and only that answer was lost.
        assert_eq!(proxy.answers_lost(), 1);

        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut again, b"CLAIM").await, b"CLAIM", "once");
    }
}
