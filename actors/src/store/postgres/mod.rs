//! [`PgStore`]: the exactly-once store on Postgres (DESIGN.md §3, §5).
//!
//! Concurrency choices:
//! * `commit` runs at READ COMMITTED. Two replicas committing the same inbox key at once do not
//!   race: the second `INSERT … ON CONFLICT DO NOTHING` waits for the first transaction, then
//!   inserts nothing (first committed → [`Commit::Duplicate`]) or inserts (first rolled back →
//!   it applies the effect itself). A stricter level would turn that wait into a serialization
//!   error and a retry loop instead.
//! * The outbox state machine moves only through conditional `UPDATE … WHERE state …`
//!   statements, so a row is claimed by one sender at a time; a claim older than the lease is
//!   considered abandoned (the sender died) and can be taken over.
//! * The relay re-publishes a row at most once per lease (`published_at` remembers when it was
//!   last put on the stream), so a slow sender is not flooded with copies of the same row.
//!
//! `mark_published`, `claim_outbox`, `record_send(Sent)` and `prior` are coalesced: the calls waiting at
//! the same moment run as one statement over all their ids (see `batch`), which saves a
//! statement and a commit per message under load and changes nothing for a single call.
//! `commit`s waiting at the same moment share one transaction, set-based (see `group`).
//!
//! Hot-path statements are prepared once per connection (`prepare_cached`), unless the
//! statement cache is off for a transaction-mode pooler (see `statements`). Connections come
//! from a deadpool pool with connect, wait and recycle timeouts: while Postgres is down every
//! call fails within seconds instead of hanging, and new connections are made once it is back.
//! They are encrypted as `DATABASE_URL`'s `sslmode` says (see `tls`).

mod batch;
mod fence;
mod group;
mod llm_answers;
mod rows;
pub mod statements;
mod tls;
mod transcripts;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::Type;

use super::{
    ClaimAttempt, Claimed, Commit, Due, Fence, InboxKey, LlmAnswer, Prior, ReplyTarget, SendResult,
    Store,
};
use crate::messages::{OutboundEnvelope, Platform};
use crate::skill::Effect;
use crate::store::StoreError;
use rows::{envelope, get, MARK_PUBLISHED, MARK_REPUBLISHED};

/// Pool settings of a [`PgStore`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Upper bound of open connections.
    pub max_connections: usize,
    /// Time to establish a new connection before giving up.
    pub connect_timeout: Duration,
    /// Time a caller waits for a free connection before giving up.
    pub wait_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(5),
        }
    }
}

/// The Postgres store. Cheap to clone (the pool and the batch queues are shared).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    commits: Arc<batch::Batcher<group::Job, group::Outcome>>,
    published: Arc<batch::Batcher<Vec<i64>, ()>>,
    republished: Arc<batch::Batcher<Vec<i64>, ()>>,
    claims: Arc<batch::Batcher<coalesce::Claim, Option<Claimed>>>,
    sent: Arc<coalesce::RecordSent>,
    priors: Arc<batch::Batcher<(Platform, String), Prior>>,
    /// `DATABASE_URL`'s TLS and first host, to explain a failed connection.
    tls: Option<(tls::TlsPolicy, String)>,
}

impl std::fmt::Debug for PgStore {
    // The pool's configuration holds the connection password; show only its status.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("size", &status.size)
            .field("available", &status.available)
            .finish_non_exhaustive()
    }
}

/// Columns that make an [`OutboundEnvelope`], in the order [`envelope`] reads them (a macro so
/// that the statements below stay `&'static str`s, the keys of the statement cache).
macro_rules! envelope_columns {
    () => {
        "id, platform, account, recipient, reply_to, body, traceparent, to_group, thread"
    };
}

/// The claim rule, for an outbox row `o` and its claim `c` (lease in seconds): pending, a due
/// retry, a claim abandoned for longer than the lease, or a claim made under one of the tokens
/// in `$4` (the claimers' own attempts whose answers were lost; see `ClaimAttempt`).
macro_rules! claimable {
    () => {
        "(o.state = 'pending' \
          OR (o.state = 'retry' AND o.next_attempt_at <= now()) \
          OR (o.state = 'sending' AND (o.claimed_at <= now() - c.lease * interval '1 second' \
                                       OR o.claim_token = ANY ($4::int8[]))))"
    };
}

/// Whether an earlier row (smaller id) to the same recipient as the outbox row `$row` is
/// still in flight: then `$row` must wait, so that one recipient's replies go out in the order
/// they were committed (outbox_in_flight_recipient_idx answers it).
macro_rules! earlier_in_flight {
    ($row:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM outbox p WHERE p.platform = ",
            $row,
            ".platform AND p.account = ",
            $row,
            ".account AND p.recipient = ",
            $row,
            ".recipient AND p.id < ",
            $row,
            ".id AND p.state IN ('pending', 'sending', 'retry'))"
        )
    };
}

/// Completes a statement whose CTE `done(done_id, done_platform, done_account, done_recipient)`
/// holds rows just finished (sent or dead): selects, for each, the next row of its recipient
/// still in flight if a claim held it — that row may go now. Columns: `envelope_columns!`, then
/// the finished row's id. The CTE's update is not visible here, so two finished rows of one
/// recipient release only the row after the later one.
macro_rules! released {
    () => {
        concat!(
            "SELECT n.id, n.platform, n.account, n.recipient, n.reply_to, n.body, n.traceparent, \
                    n.to_group, n.thread, d.done_id \
             FROM done d CROSS JOIN LATERAL ( \
                 SELECT ",
            envelope_columns!(),
            ", held_at FROM outbox n \
                 WHERE n.platform = d.done_platform AND n.account = d.done_account \
                   AND n.recipient = d.done_recipient AND n.id > d.done_id \
                   AND n.state IN ('pending', 'sending', 'retry') \
                 ORDER BY n.id LIMIT 1) n \
             WHERE n.held_at IS NOT NULL"
        )
    };
}

/// The statements the pipeline runs for every message or batch under load, for the test that
/// checks that none of their plans reads a whole table (actors/tests/store/plans.rs): a plan
/// that scans `inbox` or `outbox` (or every reply in flight) gets slower with every message.
/// (The relay's periodic `DUE_FOR_RELAY` is not one: it reads the rows in flight, which under a
/// backlog are many, once per pass.)
#[doc(hidden)]
pub const HOT_STATEMENTS: &[&str] = &[
    group::set_based::INSERT_INBOX,
    group::set_based::INSERT_OUTBOX,
    fence::CHECK_MANY,
    rows::MARK_PUBLISHED,
    rows::MARK_REPUBLISHED,
    coalesce::CLAIM_MANY,
    coalesce::RECORD_SENT_MANY,
    llm_answers::PRIORS,
    super::tx::LAST_MESSAGE_FROM_PERSON,
];

// After the macros above, which they use.
mod coalesce;
mod dead_letters;

/// `$1` grace and `$2` lease in seconds, `$3` limit. A row is due when
/// * pending, never published, and committed longer than `grace` ago (the orchestrator died
///   between COMMIT and XADD), or pending and published longer than `lease` ago without any
///   sender claiming it (the stream entry was lost);
/// * in retry, its next attempt time has passed, and it was not published since then;
/// * sending, claimed longer than `lease` ago (the sender died), and not re-published within
///   the lease;
/// * pending and held by a claim (an earlier row of its recipient was in flight), and no
///   earlier row is in flight any more: its release was missed (the releasing sender died, or
///   finished in the instant the claim looked). Held rows behind one still in flight are not
///   due, so a long retry does not make the relay republish them every pass. The last column,
///   `released`, says a row is due for this reason: the relay marks it with
///   `MARK_REPUBLISHED`, which clears its hold (a row due for another reason keeps a hold a
///   claim of the relayed entry may put on it).
const DUE_FOR_RELAY: &str = concat!(
    "SELECT ",
    envelope_columns!(),
    ", released FROM ( \
         SELECT o.*, (o.state = 'pending' AND o.held_at IS NOT NULL AND NOT ",
    earlier_in_flight!("o"),
    ") AS released \
         FROM outbox o WHERE o.state IN ('pending', 'sending', 'retry')) o \
     WHERE released \
      OR (state = 'pending' AND published_at IS NULL \
             AND created_at <= now() - $1::float8 * interval '1 second') \
      OR (state = 'pending' AND published_at <= now() - $2::float8 * interval '1 second') \
      OR (state = 'retry' AND next_attempt_at <= now() \
             AND (published_at IS NULL OR published_at < next_attempt_at \
                  OR published_at <= now() - $2::float8 * interval '1 second')) \
      OR (state = 'sending' AND claimed_at <= now() - $2::float8 * interval '1 second' \
             AND (published_at IS NULL \
                  OR published_at <= now() - $2::float8 * interval '1 second')) \
     ORDER BY id LIMIT $3"
);

const CONFIRM_SENT: &str = "UPDATE outbox \
     SET state = 'sent', sent_at = now(), provider_id = $2, last_error = NULL \
     WHERE id = $1 AND state IN ('pending', 'sending', 'retry')";
const RECORD_DELIVERY_FAILURE: &str =
    "UPDATE outbox SET state = 'dead', last_error = $2 WHERE id = $1 AND state <> 'dead'";
const RECORD_RETRY: &str = "UPDATE outbox \
     SET state = 'retry', last_error = $2, next_attempt_at = now() + $3::float8 * interval '1 second' \
     WHERE id = $1 AND state = 'sending'";
/// Records a row as dead (`$1` id, `$2` reason) and returns what that releases (`released!`).
const RECORD_DEAD: &str = concat!(
    "WITH done AS (UPDATE outbox o SET state = 'dead', last_error = $2 \
         WHERE o.id = $1 AND o.state <> 'sent' \
         RETURNING o.id AS done_id, o.platform AS done_platform, o.account AS done_account, \
                   o.recipient AS done_recipient) ",
    released!()
);

/// Longest error text kept in `last_error`.
const MAX_ERROR_LEN: usize = 2000;

impl PgStore {
    /// A store on `database_url` with the default [`PgOptions`]. Connects lazily: this fails
    /// only on an invalid URL; [`Store::ping`] checks the database is reachable.
    pub fn connect(database_url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect_with(database_url, PgOptions::default())
    }

    /// What a process does to reach its database: sets the process's statement cache (see
    /// `statements`), makes the store and one connection ([`PgStore::check_connection`]).
    pub async fn open(database_url: &str, statement_cache: bool) -> Result<PgStore, StoreError> {
        statements::set_statement_cache(statement_cache);
        if !statement_cache {
            tracing::info!(
                "DATABASE_STATEMENT_CACHE=off: statements are sent unnamed (transaction-mode pooler)."
            );
        }
        let store = PgStore::connect(database_url)?;
        store.check_connection().await?;
        Ok(store)
    }

    /// A store on `database_url` with the given pool settings. The URL may carry libpq's
    /// `sslmode` and `sslrootcert` (see `tls`); errors never repeat it (it holds a password).
    pub fn connect_with(database_url: &str, options: PgOptions) -> Result<PgStore, StoreError> {
        let url = alfred_config::postgres_url::LibpqUrl::parse(database_url)
            .map_err(|problem| StoreError::Other(format!("DATABASE_URL: {problem}")))?;
        let mut config: tokio_postgres::Config = url.rest.parse().map_err(|error| {
            StoreError::Other(format!(
                "DATABASE_URL is not a valid Postgres URL{}",
                which_option(&error)
            ))
        })?;
        let policy = tls::TlsPolicy {
            mode: url.ssl_mode,
            root_cert: url.root_cert,
        };
        let connector = policy
            .connector()
            .map_err(|problem| StoreError::Other(format!("DATABASE_URL: {problem}")))?;
        config
            .ssl_mode(policy.negotiation())
            .connect_timeout(options.connect_timeout)
            // Detect a vanished server on idle and busy connections alike, instead of
            // waiting for the kernel's multi-minute defaults.
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .tcp_user_timeout(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("alfred");
        }
        let host = config
            .get_hosts()
            .iter()
            .find_map(|host| match host {
                tokio_postgres::config::Host::Tcp(name) => Some(name.clone()),
                #[allow(unreachable_patterns)]
                _ => None,
            })
            .unwrap_or_else(|| "localhost".to_owned());
        // Fast recycling skips a round trip per checkout; a connection whose socket closed
        // (server restart) is detected as closed and replaced.
        let manager = Manager::from_config(
            config,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .post_create(deadpool_postgres::Hook::async_fn(|client, _| {
                Box::pin(async move {
                    statements::on_new_connection(client)
                        .await
                        .map_err(deadpool_postgres::HookError::Backend)
                })
            }))
            .max_size(options.max_connections)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(options.connect_timeout))
            .wait_timeout(Some(options.wait_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|error| StoreError::Pool(error.to_string()))?;
        let mut store = PgStore::from_pool(pool);
        store.tls = Some((policy, host));
        Ok(store)
    }

    /// Makes one connection, for start-up: a TLS failure (untrusted or expired certificate,
    /// wrong host name, a server without TLS under `sslmode=require`) comes back in plain
    /// words naming `DATABASE_URL`, other failures as the pool reports them.
    pub async fn check_connection(&self) -> Result<(), StoreError> {
        match self.pool.get().await {
            Ok(client) => {
                client.batch_execute("SELECT 1").await?;
                Ok(())
            }
            Err(error) => Err(self
                .tls
                .as_ref()
                .and_then(|(policy, host)| tls::explain(&error, policy, host))
                .map(StoreError::Other)
                .unwrap_or_else(|| StoreError::Pool(rows::with_sources(&error)))),
        }
    }

    /// A store over an existing pool.
    pub fn from_pool(pool: Pool) -> PgStore {
        PgStore {
            commits: Arc::new(group::commits(pool.clone())),
            published: Arc::new(coalesce::mark(pool.clone(), MARK_PUBLISHED)),
            republished: Arc::new(coalesce::mark(pool.clone(), MARK_REPUBLISHED)),
            claims: Arc::new(coalesce::claims(pool.clone())),
            sent: Arc::new(coalesce::record_sent(pool.clone())),
            priors: Arc::new(llm_answers::priors(pool.clone())),
            pool,
            tls: None,
        }
    }

    /// The connection pool, for migrations and for skills' read-only queries.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        get(&self.pool).await
    }
}

#[async_trait]
impl Store for PgStore {
    async fn commit(
        &self,
        inbox: InboxKey,
        effect: Box<dyn Effect>,
        target: ReplyTarget,
    ) -> Result<Commit, StoreError> {
        let job = group::Job {
            inbox,
            effect,
            target,
        };
        self.commits.call(job).await?
    }

    async fn mark_published(&self, outbox_ids: &[i64]) -> Result<(), StoreError> {
        if outbox_ids.is_empty() {
            return Ok(());
        }
        self.published.call(outbox_ids.to_vec()).await
    }

    async fn mark_republished(&self, outbox_ids: &[i64]) -> Result<(), StoreError> {
        if outbox_ids.is_empty() {
            return Ok(());
        }
        self.republished.call(outbox_ids.to_vec()).await
    }

    async fn due_for_relay(
        &self,
        grace: Duration,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Due>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statements::query(
            &client,
            DUE_FOR_RELAY,
            &[Type::FLOAT8, Type::FLOAT8, Type::INT8],
            &[&grace.as_secs_f64(), &lease.as_secs_f64(), &limit],
        )
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Due {
                    envelope: envelope(row)?,
                    // After the envelope's columns (see `DUE_FOR_RELAY`).
                    held: row.try_get(9)?,
                })
            })
            .collect()
    }

    async fn claim_outbox_as(
        &self,
        outbox_id: i64,
        lease: Duration,
        attempt: &ClaimAttempt,
    ) -> Result<Option<Claimed>, StoreError> {
        self.claims
            .call(coalesce::Claim {
                id: outbox_id,
                lease: lease.as_secs_f64(),
                attempt: attempt.clone(),
            })
            .await
    }

    async fn record_send(
        &self,
        outbox_id: i64,
        result: SendResult,
    ) -> Result<Vec<OutboundEnvelope>, StoreError> {
        let client = match result {
            SendResult::Sent { provider_id } => {
                return self.sent.call((outbox_id, provider_id)).await;
            }
            _ => self.client().await?,
        };
        match result {
            SendResult::Sent { .. } => Ok(Vec::new()),
            SendResult::Retry {
                error,
                next_attempt_in,
            } => {
                let error = truncate(error);
                let delay = next_attempt_in.as_secs_f64();
                statements::execute(
                    &client,
                    RECORD_RETRY,
                    &[Type::INT8, Type::TEXT, Type::FLOAT8],
                    &[&outbox_id, &error, &delay],
                )
                .await?;
                // The row stays in flight: nothing behind it may go yet.
                Ok(Vec::new())
            }
            SendResult::Dead { reason } => {
                let rows = statements::query(
                    &client,
                    RECORD_DEAD,
                    &[Type::INT8, Type::TEXT],
                    &[&outbox_id, &truncate(reason)],
                )
                .await?;
                Ok(coalesce::released_by(&rows)?
                    .remove(&outbox_id)
                    .unwrap_or_default())
            }
        }
    }

    async fn confirm_sent(&self, outbox_id: i64, provider_id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let provider_id = Some(provider_id);
        let changed = statements::execute(
            &client,
            CONFIRM_SENT,
            &[Type::INT8, Type::TEXT],
            &[&outbox_id, &provider_id],
        )
        .await?;
        Ok(changed > 0)
    }

    async fn record_delivery_failure(
        &self,
        outbox_id: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let reason = truncate(reason.to_owned());
        let changed = statements::execute(
            &client,
            RECORD_DELIVERY_FAILURE,
            &[Type::INT8, Type::TEXT],
            &[&outbox_id, &reason],
        )
        .await?;
        Ok(changed > 0)
    }

    async fn purge(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<super::Purged, StoreError> {
        let client = self.client().await?;
        let mut purged = super::Purged::default();
        // Bounded batches, each its own short transaction: a backlog of millions never holds
        // a long lock, and the orchestrator's commits go on in between.
        for (count, sql) in [
            (&mut purged.inbox, PURGE_INBOX),
            (&mut purged.llm_answers, llm_answers::PURGE),
            (&mut purged.transcripts, transcripts::PURGE),
            (&mut purged.outbox, PURGE_OUTBOX),
            (&mut purged.refusals, PURGE_REFUSALS),
        ] {
            loop {
                let removed = statements::execute(
                    &client,
                    sql,
                    &[Type::TIMESTAMPTZ, Type::INT8],
                    &[&before, &PURGE_BATCH],
                )
                .await?;
                *count += removed;
                if removed < PURGE_BATCH as u64 {
                    break;
                }
            }
        }
        Ok(purged)
    }

    async fn advance_fence(&self, fence: Fence, wait: Duration) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        fence::advance(&mut client, fence, wait).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.batch_execute("SELECT 1").await?;
        Ok(())
    }

    async fn prior(&self, platform: Platform, message_id: &str) -> Result<Prior, StoreError> {
        self.priors.call((platform, message_id.to_owned())).await
    }

    async fn keep_llm_answer(
        &self,
        platform: Platform,
        message_id: &str,
        answer: &LlmAnswer,
    ) -> Result<(), StoreError> {
        llm_answers::keep(&self.client().await?, platform, message_id, answer).await
    }

    async fn transcript(
        &self,
        platform: Platform,
        message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        transcripts::find(&self.client().await?, platform, message_id).await
    }

    async fn keep_transcript(
        &self,
        platform: Platform,
        message_id: &str,
        transcript: &str,
    ) -> Result<(), StoreError> {
        transcripts::keep(&self.client().await?, platform, message_id, transcript).await
    }
}

/// Rows removed per purge statement.
const PURGE_BATCH: i64 = 5_000;
/// Inbox keys handled before `$1`, at most `$2` of them.
const PURGE_INBOX: &str = "DELETE FROM inbox WHERE ctid = ANY (ARRAY(\
     SELECT ctid FROM inbox WHERE handled_at < $1 LIMIT $2))";
/// Outbox rows sent before `$1`, at most `$2` of them. Dead rows stay for operators.
const PURGE_OUTBOX: &str = "DELETE FROM outbox WHERE ctid = ANY (ARRAY(\
     SELECT ctid FROM outbox WHERE state = 'sent' AND coalesce(sent_at, created_at) < $1 LIMIT $2))";

/// Strangers' refusal counters of days before `$1` (as a UTC date), at most `$2` of them.
const PURGE_REFUSALS: &str = "DELETE FROM stranger_refusals WHERE ctid = ANY (ARRAY(\
     SELECT ctid FROM stranger_refusals WHERE day < ($1 AT TIME ZONE 'UTC')::date LIMIT $2))";

/// ` (invalid value for option `port`)` when tokio-postgres's parse error names an option;
/// nothing otherwise: its other parse errors may quote characters of the URL (the password).
fn which_option(error: &tokio_postgres::Error) -> String {
    std::error::Error::source(error)
        .map(ToString::to_string)
        .filter(|cause| {
            cause.starts_with("invalid value for option") || cause.starts_with("unknown option")
        })
        .map(|cause| format!(" ({cause})"))
        .unwrap_or_default()
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
