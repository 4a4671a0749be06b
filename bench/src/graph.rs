//! A lean fake of the Graph API's `POST /{version}/{phone_id}/messages` for the benchmark.
//!
//! The testkit's fake records every request as a parsed JSON document, which is right for tests
//! and too heavy at thousands of sends a second on the box being measured. This one speaks the
//! same wire format (HTTP/1.1 keep-alive, Meta's success body with a fresh wamid) and records,
//! for each quoted inbound wamid (`context.message_id`), how many replies quoted it and when
//! the first arrived, so the benchmark can check exactly-once delivery and measure latency.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake has seen.
#[derive(Default)]
pub struct Replies {
    /// Quoted wamid → (replies quoting it, arrival of the first).
    pub by_wamid: HashMap<String, (u32, Instant)>,
    /// Requests that quoted nothing or were not understood.
    pub malformed: u64,
}

/// The running fake; stops with the process.
#[derive(Clone)]
pub struct FakeGraph {
    replies: Arc<Mutex<Replies>>,
    total: Arc<AtomicU64>,
}

impl FakeGraph {
    /// Listens on `addr` (port 0: any) and serves until the process exits.
    pub async fn start(addr: SocketAddr) -> anyhow::Result<(FakeGraph, SocketAddr)> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind the fake Graph API on {addr}"))?;
        let bound = listener.local_addr()?;
        let graph = FakeGraph {
            replies: Arc::default(),
            total: Arc::default(),
        };
        let served = graph.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let graph = served.clone();
                tokio::spawn(async move {
                    let _ = graph.serve(stream).await;
                });
            }
        });
        Ok((graph, bound))
    }

    /// Requests answered so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Takes what was recorded.
    pub fn take(&self) -> Replies {
        std::mem::take(&mut *self.replies.lock().unwrap_or_else(|e| e.into_inner()))
    }

    async fn serve(&self, mut stream: TcpStream) -> anyhow::Result<()> {
        stream.set_nodelay(true)?;
        let mut buffer: Vec<u8> = Vec::with_capacity(8192);
        let mut chunk = vec![0u8; 16384];
        loop {
            // Answer every complete request in the buffer (a client may pipeline).
            while let Some((head_end, length)) = parse_head(&buffer)? {
                let end = head_end + length;
                if buffer.len() < end {
                    break;
                }
                let quoted = quoted_wamid(&buffer[head_end..end]);
                let n = self.total.fetch_add(1, Ordering::Relaxed);
                {
                    let mut replies = self.replies.lock().unwrap_or_else(|e| e.into_inner());
                    match quoted {
                        Some(wamid) => {
                            let entry =
                                replies.by_wamid.entry(wamid).or_insert((0, Instant::now()));
                            entry.0 += 1;
                        }
                        None => replies.malformed += 1,
                    }
                }
                let body = format!(
                    "{{\"messaging_product\":\"whatsapp\",\"contacts\":[],\"messages\":[{{\"id\":\"wamid.FAKE{n:016}\"}}]}}"
                );
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(response.as_bytes()).await?;
                buffer.drain(..end);
            }
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// `(end of head, content length)` once the head is complete.
fn parse_head(buffer: &[u8]) -> anyhow::Result<Option<(usize, usize)>> {
    let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buffer[..at]).context("request head is not UTF-8")?;
    if head
        .lines()
        .any(|line| line.to_ascii_lowercase().starts_with("transfer-encoding:"))
    {
        anyhow::bail!("chunked requests are not supported by the bench's fake Graph API");
    }
    let length = crate::http::content_length(head);
    Ok(Some((at + 4, length)))
}

#[derive(serde::Deserialize)]
struct Send {
    context: Option<Quoted>,
}

#[derive(serde::Deserialize)]
struct Quoted {
    message_id: String,
}

fn quoted_wamid(body: &[u8]) -> Option<String> {
    let send: Send = serde_json::from_slice(body).ok()?;
    send.context.map(|context| context.message_id)
}
