//! [`InboxPoller`]: reads the work inbox over IMAP and hands new mail to the WorkInboxService.
//!
//! Every `IMAP_POLL_INTERVAL_MS` (and once at start-up) one poll:
//!
//! 1. reads the mailbox's cursor (UIDVALIDITY and the last UID taken in) from Postgres;
//! 2. fetches the mails after it ([`ImapClient::fetch_new`], `BODY.PEEK[]`: flags untouched);
//! 3. stores them by Message-ID and triages each new one once ([`inbox::ingest`]);
//! 4. saves the cursor.
//!
//! The order makes a crash anywhere harmless: a poll that dies before step 4 fetches the same
//! mails again, and step 3 recognises them by Message-ID (no second row, no second summary)
//! and triages whatever an earlier poll stored but never summarised. A changed UIDVALIDITY
//! (the mailbox was recreated) starts again from the first mail, with the same result.
//!
//! Replicas: a poll runs inside a transaction holding `pg_try_advisory_xact_lock` on the
//! mailbox, so while one replica polls a mailbox another skips it (and asks nobody's LLM about
//! the same mail twice). A poll that dies releases the lock with its connection or rollback.
//!
//! Failures never stop the poller: they are counted (`alfred_inbox_polls_total{result}`),
//! logged once per failure streak, and the next tick tries again. A full batch means more mail
//! is waiting, so the next poll starts at once.

use std::sync::Arc;

use actix::prelude::*;
use alfred_actors::clock::Clock;
use alfred_actors::llm::Llm;
use alfred_actors::metrics::Metrics;
use alfred_adapters::imap::{Cursor, ImapClient, ImapError};
use alfred_config::ImapSettings;
use alfred_skills_biz::inbox::{self, IngestReport, MailStore};
use tracing::Instrument;

/// Mails fetched per poll; a fuller mailbox is read over several polls in a row.
const BATCH: usize = 100;

/// How the polls of the mailbox have gone, for operators (`GET /admin/inbox`). Clones share it;
/// it outlives poller restarts.
#[derive(Clone, Default)]
pub struct PollStatus(Arc<std::sync::Mutex<PollState>>);

#[derive(Default)]
struct PollState {
    account: String,
    last_poll_at: Option<chrono::DateTime<chrono::Utc>>,
    last_success_at: Option<chrono::DateTime<chrono::Utc>>,
    last_error: Option<String>,
    failures_in_a_row: u64,
    last: Option<PollReport>,
}

impl PollStatus {
    fn record(
        &self,
        account: &str,
        now: chrono::DateTime<chrono::Utc>,
        result: &Result<PollReport, String>,
    ) {
        let mut state = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.account = account.to_owned();
        state.last_poll_at = Some(now);
        match result {
            Ok(report) => {
                state.last_success_at = Some(now);
                state.last_error = None;
                state.failures_in_a_row = 0;
                state.last = Some(*report);
            }
            Err(error) => {
                state.last_error = Some(error.clone());
                state.failures_in_a_row += 1;
            }
        }
    }

    /// The status as JSON (no mail content, no password: errors never carry either).
    pub fn json(&self) -> serde_json::Value {
        let state = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        serde_json::json!({
            "account": state.account,
            "last_poll_at": state.last_poll_at,
            "last_success_at": state.last_success_at,
            "last_error": state.last_error,
            "failures_in_a_row": state.failures_in_a_row,
            "last_poll": state.last.map(|report| serde_json::json!({
                "fetched": report.fetched,
                "stored": report.ingest.stored,
                "duplicates": report.ingest.duplicates,
                "set_aside": report.ingest.set_aside,
                "summarised": report.ingest.summarised,
                "more_waiting": report.more,
                "skipped_for_another_replica": report.skipped,
            })),
        })
    }
}

/// What the poller needs; cloned into each (re)started poller.
#[derive(Clone)]
pub struct PollerDeps {
    pub imap: ImapSettings,
    pub store: MailStore,
    /// The pool the per-mailbox poll lock is taken on.
    pub pool: deadpool_postgres::Pool,
    pub llm: Option<Llm>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// Where each poll's outcome is recorded for operators.
    pub status: PollStatus,
}

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error("the work inbox's tables: {0}")]
    Store(#[from] alfred_actors::store::StoreError),
    #[error("the work inbox's poll lock: {0}")]
    Lock(String),
}

/// One poll's outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Mails the server returned.
    pub fetched: usize,
    /// What the WorkInboxService did with them.
    pub ingest: IngestReport,
    /// More mail was waiting than one batch holds.
    pub more: bool,
    /// Another process was polling this mailbox: this poll did nothing.
    pub skipped: bool,
}

/// One poll. See the module documentation for why the steps come in this order.
pub async fn poll_once(
    client: &ImapClient,
    deps: &PollerDeps,
    batch: usize,
) -> Result<PollReport, PollError> {
    let account = client.account();
    let lock_error = |error: &dyn std::fmt::Display| PollError::Lock(error.to_string());
    let mut lock_client = deps.pool.get().await.map_err(|e| lock_error(&e))?;
    let lock = lock_client
        .transaction()
        .await
        .map_err(|e| lock_error(&e))?;
    let locked: bool = lock
        .query_one(
            "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("alfred:inbox:{account}")],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| lock_error(&e))?;
    if !locked {
        return Ok(PollReport {
            skipped: true,
            ..PollReport::default()
        });
    }
    let report = poll_locked(client, deps, batch, &account).await;
    // Ends the transaction and with it the lock (a dropped future rolls it back too).
    lock.rollback().await.map_err(|e| lock_error(&e))?;
    report
}

/// One poll, holding the mailbox's lock.
async fn poll_locked(
    client: &ImapClient,
    deps: &PollerDeps,
    batch: usize,
    account: &str,
) -> Result<PollReport, PollError> {
    let cursor = deps
        .store
        .cursor(account)
        .await?
        .map(|(uid_validity, last_uid)| Cursor {
            uid_validity,
            last_uid,
        });
    let fetched = client.fetch_new(cursor, batch).await?;
    let count = fetched.mails.len();
    // The cursor stays where it was when the server returned nothing newer (an unchanged
    // UIDVALIDITY), so an empty poll writes nothing.
    let last_uid = fetched.mails.iter().map(|mail| mail.uid).max();
    // The mails are moved, not copied: a full batch is up to 100 × 256 KiB.
    let raws: Vec<Vec<u8>> = fetched.mails.into_iter().map(|mail| mail.raw).collect();
    let ingest = inbox::ingest(&deps.store, &raws, deps.llm.as_ref(), deps.clock.now()).await?;
    let moved = match (cursor, last_uid) {
        (_, Some(_)) => true,
        (Some(cursor), None) => cursor.uid_validity != fetched.uid_validity,
        (None, None) => true,
    };
    if moved {
        let start = cursor
            .filter(|cursor| cursor.uid_validity == fetched.uid_validity)
            .map_or(0, |cursor| cursor.last_uid);
        let last_uid = last_uid.unwrap_or(start).max(start);
        deps.store
            .save_cursor(account, fetched.uid_validity, last_uid, deps.clock.now())
            .await?;
    }
    Ok(PollReport {
        fetched: count,
        ingest,
        more: fetched.more,
        skipped: false,
    })
}

/// Runs one poll now (for operators and tests); answers with its report.
#[derive(Debug, Clone, Copy)]
pub struct PollNow;

impl Message for PollNow {
    type Result = Result<PollReport, String>;
}

/// The poller actor. See the module documentation.
pub struct InboxPoller {
    deps: PollerDeps,
    client: Result<Arc<ImapClient>, String>,
    /// Whether the last poll failed, so an outage is logged once, not every interval.
    failing: bool,
}

impl InboxPoller {
    /// A poller. A client that cannot be built (an unreadable `IMAP_CA_FILE`) is reported at
    /// every poll rather than crashing the runtime: the rest of Biz keeps working.
    pub fn new(deps: PollerDeps) -> Self {
        let client = ImapClient::new(&deps.imap)
            .map(Arc::new)
            .map_err(|error| error.to_string());
        InboxPoller {
            deps,
            client,
            failing: false,
        }
    }

    fn poll(&self) -> impl ActorFuture<Self, Output = Result<PollReport, String>> + 'static {
        let deps = self.deps.clone();
        let client = self.client.clone();
        let span = tracing::info_span!("inbox.poll", fetched = tracing::field::Empty);
        let poll = async move {
            let client = client?;
            poll_once(&client, &deps, BATCH)
                .await
                .map_err(|error| error.to_string())
        }
        .instrument(span.clone());
        poll.into_actor(self).map(move |result, act, _ctx| {
            let account = act
                .client
                .as_ref()
                .map(|client| client.account())
                .unwrap_or_default();
            act.deps
                .status
                .record(&account, act.deps.clock.now(), &result);
            let metrics = &act.deps.metrics;
            match &result {
                Ok(report) => {
                    span.record("fetched", report.fetched);
                    metrics.inbox_polls.with_label_values(&["ok"]).inc();
                    let counts = [
                        ("stored", report.ingest.stored),
                        ("duplicate", report.ingest.duplicates),
                        ("set_aside", report.ingest.set_aside),
                        ("summarised", report.ingest.summarised),
                    ];
                    for (label, count) in counts {
                        metrics
                            .inbox_mails
                            .with_label_values(&[label])
                            .inc_by(count as u64);
                    }
                    if report.ingest.stored > 0 || report.ingest.summarised > 0 {
                        tracing::info!(
                            fetched = report.fetched,
                            stored = report.ingest.stored,
                            duplicates = report.ingest.duplicates,
                            set_aside = report.ingest.set_aside,
                            summarised = report.ingest.summarised,
                            "Took in new mail from the work inbox."
                        );
                    }
                    if act.failing {
                        tracing::info!("The work inbox can be read again.");
                    }
                    act.failing = false;
                }
                Err(error) => {
                    metrics.inbox_polls.with_label_values(&["failed"]).inc();
                    if !act.failing {
                        tracing::warn!(%error, "Reading the work inbox failed; retrying every IMAP_POLL_INTERVAL_MS.");
                    } else {
                        tracing::debug!(%error, "Reading the work inbox failed again.");
                    }
                    act.failing = true;
                }
            }
            result
        })
    }

    /// A scheduled poll. `ctx.wait` keeps polls from overlapping; a full batch polls again.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        ctx.wait(self.poll().map(|result, act, ctx| {
            if matches!(result, Ok(report) if report.more) {
                act.tick(ctx);
            }
        }));
    }
}

impl Actor for InboxPoller {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.tick(ctx);
        ctx.run_interval(self.deps.imap.poll_interval, |act, ctx| act.tick(ctx));
    }
}

impl Handler<PollNow> for InboxPoller {
    type Result = AtomicResponse<Self, Result<PollReport, String>>;

    fn handle(&mut self, _msg: PollNow, _ctx: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(Box::pin(self.poll()))
    }
}
