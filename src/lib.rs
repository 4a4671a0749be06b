//! The `alfred` binary's library: the composition root ([`app`]), the actor system
//! ([`runtime`]) with the instance's skills ([`catalogue`]) and its stores ([`stores`]), the
//! interactive console ([`chat`]) and its page in a browser ([`playground`]), `alfred dead`
//! ([`dead_cli`]), the container health check ([`healthcheck`]) and logging set-up
//! ([`telemetry`]).
//! `main.rs` only parses the command line and calls into here; tests build [`app::App`]
//! in-process on port 0.

pub mod app;
pub mod catalogue;
pub mod chat;
pub mod dead_cli;
pub mod healthcheck;
#[cfg(feature = "biz")]
pub mod inbox_poller;
pub mod jobs;
pub mod playground;
pub mod redis_tls;
pub mod runtime;
pub mod stores;
pub mod telemetry;
