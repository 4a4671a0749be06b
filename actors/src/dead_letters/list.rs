//! Listing dead letters newest first, a page at a time, filtered by reason and time; and
//! choosing the dead letters of a bulk action.
//!
//! The cursor is an entry id: a page ends at an entry, the next one starts strictly before it
//! (`XREVRANGE … (id`), so entries dead-lettered while an operator pages through never shift
//! a page. The time filter narrows the range Redis reads; the reason filter is applied to what
//! it returns, with at most [`MAX_SCAN`] entries read per page (a page may then be short, its
//! cursor says where to go on).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::entry::{self, DeadEntry};
use super::service::DeadLetters;
use super::stream::{DeadLetterError, DeadStream, DEFAULT_LIMIT, MAX_LIMIT};

/// Entries read from Redis per round trip.
const SCAN_BATCH: usize = 200;
/// Most entries read for one page.
pub const MAX_SCAN: usize = 10_000;
/// Most dead letters one bulk action takes.
pub const MAX_BULK: usize = 1_000;

/// Which dead letters: a reason (case-insensitive part of it) and a time window (inclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub reason: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Filter {
    fn matches(&self, entry: &DeadEntry) -> bool {
        let reason = self.reason.as_deref().map(str::to_lowercase);
        reason.is_none_or(|reason| entry.reason.to_lowercase().contains(&reason))
            && self.since.is_none_or(|since| entry.at >= since)
            && self.until.is_none_or(|until| entry.at <= until)
    }

    fn is_empty(&self) -> bool {
        self.reason.is_none() && self.since.is_none() && self.until.is_none()
    }

    /// The Redis range (`start`, `end`) of the time window, ending strictly before `before`.
    fn range(&self, before: Option<&str>) -> (String, String) {
        let start = self
            .since
            .map(|since| since.timestamp_millis().max(0).to_string())
            .unwrap_or_else(|| "-".to_owned());
        let end = match (before, self.until) {
            (Some(before), _) => format!("({before}"),
            (None, Some(until)) => until.timestamp_millis().max(0).to_string(),
            (None, None) => "+".to_owned(),
        };
        (start, end)
    }
}

/// One page's question.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Filter,
    /// Start strictly before this entry id (the previous page's `next`).
    pub before: Option<String>,
    /// Entries per page (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
}

/// One page of dead letters, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub stream: &'static str,
    /// Each entry's [`DeadEntry::summary`].
    pub entries: Vec<Value>,
    /// The cursor of the next page (`before=`), or none when this is the last.
    pub next: Option<String>,
}

/// The dead letters a bulk action takes: these ids, or those a filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Ids(Vec<String>),
    Matching(Filter),
}

impl Selection {
    /// From a bulk action's JSON body: `{"ids": [...]}` or a non-empty `{reason, since,
    /// until}` (an empty filter would take every dead letter: ask for that explicitly with
    /// `{"since": "1970-01-01T00:00:00Z"}`).
    pub fn from_json(body: &[u8]) -> Result<Selection, DeadLetterError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            ids: Option<Vec<String>>,
            #[serde(flatten)]
            filter: Filter,
        }
        let bad = |why: String| DeadLetterError::BadRequest(why);
        // `flatten` and `deny_unknown_fields` do not combine: check the names by hand.
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| bad(format!("the body is not JSON: {error}")))?;
        let Value::Object(fields) = &value else {
            return Err(bad("the body must be a JSON object".to_owned()));
        };
        if let Some(unknown) = fields
            .keys()
            .find(|name| !["ids", "reason", "since", "until"].contains(&name.as_str()))
        {
            return Err(bad(format!(
                "unknown field {unknown:?}: use ids, or reason, since and until"
            )));
        }
        let Body { ids, filter } =
            serde_json::from_value(value).map_err(|error| bad(format!("invalid body: {error}")))?;
        Selection::new(ids, filter)
    }

    /// These ids, or what `filter` matches: one of the two, an empty filter refused.
    pub fn new(ids: Option<Vec<String>>, filter: Filter) -> Result<Selection, DeadLetterError> {
        let bad = |why: &str| Err(DeadLetterError::BadRequest(why.to_owned()));
        match ids {
            Some(_) if !filter.is_empty() => {
                bad("give either ids or a filter (reason, since, until), not both")
            }
            Some(ids) if ids.is_empty() => bad("ids is empty"),
            Some(ids) if ids.len() > MAX_BULK => bad(&format!("at most {MAX_BULK} ids at once")),
            Some(ids) => match ids.iter().find(|id| !entry::is_entry_id(id)) {
                Some(id) => bad(&format!("{id:?} is not a stream entry id")),
                None => Ok(Selection::Ids(ids)),
            },
            None if filter.is_empty() => {
                bad("give ids or a filter (reason, since, until); an empty filter is refused")
            }
            None => Ok(Selection::Matching(filter)),
        }
    }
}

impl DeadLetters {
    /// One page of `stream`'s dead letters, newest first.
    pub async fn list(
        &self,
        stream: DeadStream,
        query: &ListQuery,
    ) -> Result<Page, DeadLetterError> {
        if let Some(before) = query.before.as_deref().filter(|id| !entry::is_entry_id(id)) {
            return Err(DeadLetterError::BadRequest(format!(
                "before must be an entry id like 1700000000000-0, not {before:?}"
            )));
        }
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(DeadLetterError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let (found, next) = self
            .scan(stream, &query.filter, query.before.clone(), limit, MAX_SCAN)
            .await?;
        Ok(Page {
            stream: stream.as_str(),
            entries: found.iter().map(DeadEntry::summary).collect(),
            next,
        })
    }

    /// Up to `limit` entries matching `filter` before `before`, reading at most `max_scan`;
    /// with the cursor to go on from, if there may be more.
    pub(super) async fn scan(
        &self,
        stream: DeadStream,
        filter: &Filter,
        mut before: Option<String>,
        limit: usize,
        max_scan: usize,
    ) -> Result<(Vec<DeadEntry>, Option<String>), DeadLetterError> {
        let key = self.dead_key(stream);
        let mut found = Vec::new();
        let mut scanned = 0;
        loop {
            let (start, end) = filter.range(before.as_deref());
            let batch = self
                .bus
                .entries_newest_first(&key, &start, &end, SCAN_BATCH)
                .await?;
            let full = batch.len() == SCAN_BATCH;
            for (id, raw) in batch {
                scanned += 1;
                before = Some(id.clone());
                let entry = DeadEntry::parse(stream, &id, &raw);
                if filter.matches(&entry) {
                    found.push(entry);
                    if found.len() == limit {
                        return Ok((found, before));
                    }
                }
            }
            if !full {
                return Ok((found, None));
            }
            if scanned >= max_scan {
                return Ok((found, before));
            }
        }
    }
}
