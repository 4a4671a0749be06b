//! End-to-end tests of Alfred-Home's WhatsApp path against real Redis and Postgres and a
//! fake Graph API: webhook → `alfred-ingest` → orchestrator → grocery skill → one Postgres
//! transaction → `alfred-outbox` → sender → Graph API.

mod helpers;
#[path = "../support/mod.rs"]
mod support;

mod access;
mod admin;
mod admin_guard;
mod admin_page;
mod admin_page_ops;
mod briefing;
mod browser;
mod chores;
mod cluster;
mod crash;
mod crm_cli;
mod dead_cli;
mod dead_letters;
mod dead_letters_listing;
mod delivery;
mod healthcheck;
mod households;
mod inbox;
mod limits;
mod llm;
mod order;
mod outage;
mod partitions;
mod partitions_default;
mod playground;
mod postgres_tls;
mod readiness;
mod redis_tls;
mod reminders;
mod replicas;
mod schedule;
mod slack;
mod slack_escaping;
mod slack_socket;
mod streams;
mod supervision;
mod voice;
mod webhook;
