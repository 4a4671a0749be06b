//! Dead letters operators can act on: list, show, replay and discard the entries of
//! `alfred-ingest:dead` and `alfred-outbox:dead`. The admin API and `alfred dead` share this
//! service; it needs the bus and Postgres only, so the CLI works while the server is down.
//!
//! What a replay promises (docs/adr/2026-12-02-dead-letter-replay.md):
//! * an **ingest** dead letter's message goes back onto the ingest stream as a fresh entry (a
//!   fresh delivery count); the inbox de-duplicates it, so a message answered since is not
//!   answered twice (and one the inbox already holds is not even republished);
//! * an **outbox** dead letter's reply is sent again: its outbox row, if dead, is made
//!   `pending` with no attempts by one conditional update and put on the outbox stream; a row
//!   sent since, or already on its way, is left alone; the sender's claim sends a row once;
//! * a replayed dead letter leaves its dead stream; replaying (or discarding) it again finds
//!   it in the audit log and does nothing;
//! * a discarded dead letter leaves its dead stream and is kept, secrets removed, in the
//!   audit log (`dead_letter_audit`) with who, what and when; so is every replay.
//!
//! The order of a replay is act, audit, delete: a failure in between leaves the dead letter in
//! place, and replaying it again is harmless (see above).
//!
//! Layout: `stream` names the two dead streams and the one error; `service` holds the stores
//! and finds a dead letter ([`DeadLetters`]); `entry` reads every dead-letter shape
//! ([`DeadEntry`]); `redact` removes secrets; `list` pages and filters; `act` replays and
//! discards, one or many; `store` what Postgres keeps ([`DeadLetterStore`]).

mod act;
pub mod entry;
mod list;
pub mod redact;
mod service;
pub mod store;
mod stream;

pub use act::{Action, Bulk, BulkError, Done};
pub use entry::{DeadEntry, Origin};
pub use list::{Filter, ListQuery, Page, Selection, MAX_BULK};
pub use service::DeadLetters;
pub use store::{AuditRecord, DeadLetterStore, Revival};
pub use stream::{parse_time, DeadLetterError, DeadStream, DEFAULT_LIMIT, MAX_LIMIT};
