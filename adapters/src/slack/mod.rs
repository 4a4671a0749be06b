//! Slack: the inbound edge (Events API, slash commands) and the outbound Web API client.
//!
//! * [`edge`] — `POST /slack/events` and `POST /slack/commands`: signature, parsing, storing
//!   envelopes on `alfred-ingest` before answering (or a signed but unreadable body on its dead
//!   letter), `/alfred ping` and `/alfred help` answered in the HTTP response;
//! * [`signature`] — Slack's v0 request signature and the 5-minute replay window;
//! * [`events`] — the Events API body parsed into typed `InboundEnvelope`s;
//! * [`commands`] — slash commands: what is answered at once and what is deferred;
//! * [`response_url`] — the response URLs of deferred commands, shared by edge and client;
//! * [`client`] — [`SlackClient`], the `ChannelClient` that posts replies;
//! * [`pacer`] — [`ChannelPacer`], the one-message-per-second-per-channel bookkeeping;
//! * [`text`] — replies escaped for Slack (no `<!channel>` from users' words), and dead
//!   letters stripped of `token` and `response_url`.
//! * [`socket`] — Socket Mode (`SLACK_APP_TOKEN`): two WebSockets Alfred opens to Slack,
//!   whose envelopes go through the edge's own storing path, acknowledged once stored;
//! * [`workspaces`] — the workspaces whose requests are answered (`SLACK_TEAM_IDS`, or the bot
//!   token's own from `auth.test`), checked by the edge before anything is stored.
//!
//! This module knows Slack's wire formats and nothing about skills, the orchestrator or
//! storage beyond the `Bus` trait.

pub mod client;
pub mod commands;
pub mod edge;
pub mod events;
pub mod pacer;
pub mod response_url;
pub mod signature;
pub mod socket;
pub mod text;
pub mod workspaces;

pub use client::{SlackClient, SlackClientSettings, SlackIdentity, SlackSetupError};
pub use commands::Visibility;
pub use edge::{configure, SlackEdge, SlackEdgeSettings, SlackError, COMMANDS_PATH, EVENTS_PATH};
pub use pacer::ChannelPacer;
pub use response_url::{ResponseUrl, ResponseUrls};
pub use signature::{SignatureError, SlackVerifier};
pub use socket::{SocketMode, SocketSettings};
pub use workspaces::{WorkspaceLearner, Workspaces};
