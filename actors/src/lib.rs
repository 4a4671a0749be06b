//! Alfred's actors and the runtime they run on.
//!
//! Layout:
//! * [`messages`] — the typed envelopes that cross actor and stream boundaries;
//! * [`names`] — stream keys and consumer groups;
//! * [`skill`] — the contract between the orchestrator and skills, the catalogue entry
//!   ([`skill::SkillEntry`]) and the skill actor;
//! * [`access`] — who may use each skill (declared in the catalogue, checked by the
//!   orchestrator) and what a stranger gets;
//! * [`bus`] — the stream bus (Redis Streams, or in-process in ephemeral mode);
//! * [`store`] — the exactly-once store (Postgres, or in memory in ephemeral mode), the
//!   transaction effects see ([`store::Tx`]) and the store's one error ([`store::StoreError`]);
//! * [`channel`] — the outbound client contract implemented by the adapters;
//! * [`llm`] — the optional LLM for plain language: tool calls, validated by the skills;
//! * [`voice`] — voice notes: fetched and transcribed, then handled like typed text;
//! * [`supervision`] — child runner, supervisors, restart strategies;
//! * [`stream_reader`], [`orchestrator`], [`outbound`] — the actors of the message path;
//! * [`partitions`] — partitioned ingest (`INGEST_PARTITIONS`): placement, leases with
//!   fencing tokens, one reader per owned partition;
//! * [`relay`], [`scheduler`], [`janitor`] — republishing, scheduled jobs, retention;
//! * [`streams`] — the streams operators control: pause and resume, health;
//! * [`dead_letters`] — listing, replaying and discarding dead letters (admin API and CLI);
//! * [`limits`] — per-sender limits (token bucket, LLM budget, text cap) shared on the bus;
//! * [`clock`] (the time skills see), [`households`] (conversations to households),
//!   [`sequencer`] (per-conversation order), [`metrics`], [`trace`] (W3C context in entries).
//!
//! This crate must not know about HTTP, platform wire formats or any particular skill.

pub mod access;
pub mod bus;
pub mod channel;
pub mod clock;
pub mod dead_letters;
pub mod households;
pub mod janitor;
pub mod limits;
pub mod llm;
pub mod messages;
pub mod metrics;
pub mod names;
pub mod orchestrator;
pub mod outbound;
pub mod partitions;
pub mod relay;
pub mod scheduler;
pub mod sequencer;
pub mod skill;
pub mod store;
pub mod stream_reader;
pub mod streams;
pub mod supervision;
pub mod trace;
pub mod voice;
