//! The inbox's tables (`migrations/0010_work_inbox.sql`): the poller's side ([`MailStore`],
//! [`ingest`]) on the pool, and the skill's reads and `done` inside the message's transaction.
//!
//! Ingest never holds a connection while the LLM thinks: it stores the batch, then takes the
//! unsummarised mails a page at a time and saves each triage on a fresh checkout.

use alfred_actors::llm::Llm;
use alfred_actors::store::postgres::statements;
use alfred_actors::store::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

use super::parse::{parse_mail, Mail, SetAside};
use super::triage::{triage, Category};

/// Unsummarised mails read per page during [`ingest`].
const PAGE: i64 = 100;

/// The inbox tables (Postgres only: the work inbox needs the durable stores).
#[derive(Clone)]
pub struct MailStore {
    pool: Pool,
}

impl std::fmt::Debug for MailStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailStore").finish_non_exhaustive()
    }
}

impl MailStore {
    /// The store over the runtime's pool.
    pub fn new(pool: Pool) -> Self {
        MailStore { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|error| StoreError::Pool(error.to_string()))
    }

    /// The cursor saved for `account` (`user@host:port/mailbox`): `(uid_validity, last_uid)`.
    pub async fn cursor(&self, account: &str) -> Result<Option<(u32, u32)>, StoreError> {
        let client = self.client().await?;
        let row = statements::query_opt(
            &client,
            "SELECT uid_validity, last_uid FROM work_inbox_cursors WHERE account = $1",
            &[Type::TEXT],
            &[&account],
        )
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let number = |index: usize| -> Result<u32, StoreError> {
            let value: i64 = row.try_get(index)?;
            u32::try_from(value)
                .map_err(|_| StoreError::Other(format!("inbox cursor value {value} out of range")))
        };
        Ok(Some((number(0)?, number(1)?)))
    }

    /// Saves where the poller stopped in `account`, polled at `now`.
    pub async fn save_cursor(
        &self,
        account: &str,
        uid_validity: u32,
        last_uid: u32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        statements::execute(
            &client,
            "INSERT INTO work_inbox_cursors (account, uid_validity, last_uid, polled_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account) DO UPDATE SET \
             uid_validity = EXCLUDED.uid_validity, last_uid = EXCLUDED.last_uid, \
             polled_at = EXCLUDED.polled_at",
            &[Type::TEXT, Type::INT8, Type::INT8, Type::TIMESTAMPTZ],
            &[
                &account,
                &i64::from(uid_validity),
                &i64::from(last_uid),
                &now,
            ],
        )
        .await?;
        Ok(())
    }
}

/// What one [`ingest`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// New rows (set-aside ones included).
    pub stored: usize,
    /// Raw mails whose Message-ID was already stored (or came twice in the batch): untouched.
    pub duplicates: usize,
    /// Of the stored, how many were set aside (stored already categorised, never triaged).
    pub set_aside: usize,
    /// Mails triaged by this call (from this batch or left unsummarised by an earlier one).
    pub summarised: usize,
}

const INSERT: &str = "INSERT INTO work_mails (message_id, from_name, from_addr, subject, sent_at, \
     stored_at, body, important, set_aside, category, why, summarised_by, summarised_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (message_id) DO NOTHING RETURNING id";

/// The parameter types of [`INSERT`], in order.
const INSERT_TYPES: &[Type] = &[
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TIMESTAMPTZ,
];

const UNSUMMARISED: &str = "SELECT id, message_id, from_name, from_addr, subject, sent_at, body, \
     important FROM work_mails WHERE summarised_at IS NULL AND done_at IS NULL AND id > $1 \
     ORDER BY id LIMIT $2";

const SAVE_TRIAGE: &str = "UPDATE work_mails SET category = $2, why = $3, next_action = $4, \
     summarised_by = $5, summarised_at = $6 WHERE id = $1 AND summarised_at IS NULL";

/// Parses and stores each raw mail (a Message-ID already stored counts as a duplicate and is
/// not touched), then triages every stored mail not yet summarised — including ones an earlier
/// crash left — at most once each: the triage is saved `WHERE summarised_at IS NULL`, so two
/// pollers never both count it. Set-aside mails are stored already categorised as set aside
/// (no triage, no LLM). `now` is the runtime clock's time.
pub async fn ingest(
    store: &MailStore,
    raws: &[Vec<u8>],
    llm: Option<&Llm>,
    now: DateTime<Utc>,
) -> Result<IngestReport, StoreError> {
    let mut report = IngestReport::default();
    if !raws.is_empty() {
        let client = store.client().await?;
        for raw in raws {
            let mail = parse_mail(raw);
            let aside = mail.set_aside;
            let summarised_at = aside.map(|_| now);
            let row = statements::query_opt(
                &client,
                INSERT,
                INSERT_TYPES,
                &[
                    &mail.message_id,
                    &mail.from_name,
                    &mail.from_addr,
                    &mail.subject,
                    &mail.sent_at,
                    &now,
                    &mail.body,
                    &mail.important,
                    &aside.map(SetAside::as_str),
                    &aside.map(|_| "set_aside"),
                    &aside.map(SetAside::label),
                    &aside.map(|_| "heuristic"),
                    &summarised_at,
                ],
            )
            .await?;
            match row {
                None => report.duplicates += 1,
                Some(_) => {
                    report.stored += 1;
                    if aside.is_some() {
                        report.set_aside += 1;
                    }
                }
            }
        }
    }

    let mut after = 0_i64;
    loop {
        let page: Vec<(i64, Mail)> = {
            let client = store.client().await?;
            let rows = statements::query(
                &client,
                UNSUMMARISED,
                &[Type::INT8, Type::INT8],
                &[&after, &PAGE],
            )
            .await?;
            rows.iter().map(unsummarised).collect::<Result<_, _>>()?
        };
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        for (id, mail) in page {
            let triage = triage(&mail, llm).await;
            let client = store.client().await?;
            let saved = statements::execute(
                &client,
                SAVE_TRIAGE,
                &[
                    Type::INT8,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TIMESTAMPTZ,
                ],
                &[
                    &id,
                    &triage.category.as_str(),
                    &triage.why,
                    &triage.next_action,
                    &triage.by.as_str(),
                    &now,
                ],
            )
            .await?;
            if saved == 1 {
                report.summarised += 1;
            }
        }
    }
    if report != IngestReport::default() {
        tracing::info!(
            stored = report.stored,
            duplicates = report.duplicates,
            set_aside = report.set_aside,
            summarised = report.summarised,
            "Took mail into the work inbox."
        );
    }
    Ok(report)
}

fn unsummarised(row: &Row) -> Result<(i64, Mail), StoreError> {
    Ok((
        row.try_get(0)?,
        Mail {
            message_id: row.try_get(1)?,
            from_name: row.try_get(2)?,
            from_addr: row.try_get(3)?,
            subject: row.try_get(4)?,
            sent_at: row.try_get(5)?,
            body: row.try_get(6)?,
            important: row.try_get(7)?,
            set_aside: None,
        },
    ))
}

/// One mail as the skill lists it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub id: i64,
    pub from_name: Option<String>,
    pub from_addr: String,
    pub subject: String,
    pub why: Option<String>,
    pub next_action: Option<String>,
    pub set_aside: Option<SetAside>,
}

/// One pile of the summary: its category (`None`: not yet triaged), its size, its newest items.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Section {
    pub category: Option<Category>,
    pub total: usize,
    pub items: Vec<Item>,
}

fn count(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

fn item(row: &Row) -> Result<Item, StoreError> {
    let set_aside: Option<String> = row.try_get("set_aside")?;
    Ok(Item {
        id: row.try_get("id")?,
        from_name: row.try_get("from_name")?,
        from_addr: row.try_get("from_addr")?,
        subject: row.try_get("subject")?,
        why: row.try_get("why")?,
        next_action: row.try_get("next_action")?,
        set_aside: set_aside.as_deref().and_then(SetAside::from_str_opt),
    })
}

/// Whether the poller has read a mailbox yet (a cursor or any mail).
pub(crate) async fn anything_read(tx: &Transaction<'_>) -> Result<bool, StoreError> {
    let statement = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM work_inbox_cursors) OR EXISTS (SELECT 1 FROM work_mails)",
        )
        .await?;
    Ok(tx.query_one(&statement, &[]).await?.try_get(0)?)
}

/// The open (not done, not set aside) mails: per category (and not yet triaged), the total and
/// the newest `limit`.
pub(crate) async fn open_sections(
    tx: &Transaction<'_>,
    limit: usize,
) -> Result<Vec<Section>, StoreError> {
    let statement = tx
        .prepare_cached(
            "SELECT id, from_name, from_addr, subject, category, why, next_action, set_aside, \
                 total FROM ( \
                 SELECT *, count(*) OVER (PARTITION BY category) AS total, \
                     row_number() OVER (PARTITION BY category \
                         ORDER BY coalesce(sent_at, stored_at) DESC, id DESC) AS rank \
                 FROM work_mails \
                 WHERE done_at IS NULL AND category IS DISTINCT FROM 'set_aside') ranked \
             WHERE rank <= $1 ORDER BY rank",
        )
        .await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.query(&statement, &[&limit]).await?;
    let mut sections: Vec<Section> = Vec::new();
    for row in &rows {
        let name: Option<String> = row.try_get("category")?;
        let category =
            match name {
                None => None,
                Some(name) => Some(Category::parse(&name).ok_or_else(|| {
                    StoreError::Other(format!("unknown work mail category {name}"))
                })?),
            };
        let total = count(row.try_get("total")?);
        let item = item(row)?;
        match sections.iter_mut().find(|s| s.category == category) {
            Some(section) => section.items.push(item),
            None => sections.push(Section {
                category,
                total,
                items: vec![item],
            }),
        }
    }
    Ok(sections)
}

/// The mails set aside and not done: the total and the newest `limit`.
pub(crate) async fn set_aside(
    tx: &Transaction<'_>,
    limit: usize,
) -> Result<(usize, Vec<Item>), StoreError> {
    let statement = tx
        .prepare_cached(
            "SELECT id, from_name, from_addr, subject, why, next_action, set_aside, \
                 count(*) OVER () AS total \
             FROM work_mails WHERE done_at IS NULL AND category = 'set_aside' \
             ORDER BY coalesce(sent_at, stored_at) DESC, id DESC LIMIT $1",
        )
        .await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.query(&statement, &[&limit]).await?;
    let total = match rows.first() {
        Some(row) => count(row.try_get("total")?),
        None => 0,
    };
    let items = rows.iter().map(item).collect::<Result<_, _>>()?;
    Ok((total, items))
}

/// How many set-aside mails are not done.
pub(crate) async fn set_aside_count(tx: &Transaction<'_>) -> Result<usize, StoreError> {
    let statement = tx
        .prepare_cached(
            "SELECT count(*) FROM work_mails WHERE done_at IS NULL AND category = 'set_aside'",
        )
        .await?;
    Ok(count(tx.query_one(&statement, &[]).await?.try_get(0)?))
}

/// Marks the not-done mails among `ids` done by `by` at `now`; returns `(id, subject)` of each
/// one marked, in the order of `ids`.
pub(crate) async fn mark_done(
    tx: &Transaction<'_>,
    ids: &[i64],
    now: DateTime<Utc>,
    by: &str,
) -> Result<Vec<(i64, String)>, StoreError> {
    let statement = tx
        .prepare_cached(
            "UPDATE work_mails SET done_at = $2, done_by = $3 \
             WHERE id = ANY ($1) AND done_at IS NULL RETURNING id, subject",
        )
        .await?;
    let rows = tx.query(&statement, &[&ids, &now, &by]).await?;
    let mut done: Vec<(i64, String)> = rows
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, StoreError>>()?;
    done.sort_by_key(|(id, _)| ids.iter().position(|wanted| wanted == id));
    Ok(done)
}
