//! The playground: a chat page on the public listener where a newcomer talks to the real actor
//! system in a browser — what `alfred chat` is in a terminal (issue 11).
//!
//! Only in ephemeral mode with no platform configured ([`Playground::wanted`]): with durable
//! stores, or with WhatsApp or Slack reaching the listener, `GET /` and `/playground/*` are not
//! mounted (404), since anyone reaching the page would speak as the family
//! (docs/adr/2026-12-02-playground.md).
//!
//! How a message goes: `POST /playground/messages` turns `{"from", "text"}` into an inbound
//! envelope ([`LocalSpeaker`](crate::chat::LocalSpeaker): a household member in their own chat, or a console user) and
//! puts it on the ingest stream of its conversation; from there it takes the path of every message — orchestrator,
//! skill, the exactly-once commit, `alfred-outbox`, the sender. The sender's client for the
//! console and WhatsApp is the [`Feed`], where the handler finds the replies to its message
//! and the page finds everything else Alfred sends, briefings and reminders included.
//!
//! Layout: `edge` (the playground of a running Alfred: when it is wanted, its channel clients,
//! the start-up line), `feed` (the transcript and its channel client), `routes` (the HTTP
//! handlers),
//! `page` (the server-rendered page; its script and style are `playground.js` and
//! `playground.css`, served as files so the Content-Security-Policy allows no inline code).

mod edge;
mod feed;
mod page;
mod routes;

pub use edge::{announce, Playground};
pub use feed::{Entry, Feed, FeedClient, Kind};
pub use routes::configure;
