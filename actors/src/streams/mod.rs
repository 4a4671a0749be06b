//! The streams operators control — ingest and outbox — by name: their keys, their pause flag
//! and their health (`GET /admin/streams`, `POST /admin/streams/{stream}/{pause|resume}`).
//!
//! **Pause.** A stream is paused for the whole deployment by one key on the bus
//! ([`crate::names::paused_key`], no expiry, so it survives a restart of Alfred; on the memory bus it
//! lasts as long as the process). Every stream reader of the stream checks the key at least
//! every [`PAUSE_CHECK`] (and never blocks in a read for longer), so every replica honours a
//! pause within about a second: a paused reader finishes the entries it has handed out, then
//! neither reads new entries nor claims idle ones (nor re-reads its own pending ones) until
//! the key is gone. What arrives meanwhile waits in the stream, in order: webhooks are still
//! answered 200 and stored; a paused ingest answers nothing, a paused outbox sends nothing
//! (replies are committed and wait). Resuming deletes the key; the readers work the backlog
//! off in stream order. See `docs/adr/2026-12-02-pause-and-stream-health.md`.
//!
//! Layout: `controlled` names the streams and their keys ([`ControlledStream`]); `pause` the
//! switch; `health` what `GET /admin/streams` shows of one stream.

mod controlled;
mod health;
mod pause;

use std::time::Duration;

pub use controlled::ControlledStream;
pub use health::{stream_health, ConsumerView, StreamHealth};
pub use pause::{pause, paused, resume, Paused};

/// The longest a stream reader goes without looking at its stream's pause flag.
pub const PAUSE_CHECK: Duration = Duration::from_millis(500);
