//! A stranger's messages (Home with a households file): one short refusal a day, and nothing
//! kept about them but a counter.
//!
//! The counter is a row `(platform, conversation, day) → count` in `stranger_refusals`
//! (`migrations/0013_stranger_refusals.sql`), written by [`StrangerRefusal`] inside the
//! message's own transaction — the one that marks the inbox and writes the outbox. So the
//! refusal and the count commit together: a platform retry of the same message is a duplicate
//! in the inbox and never reaches this effect (no second refusal), a rolled-back message leaves
//! no count behind, and of two different messages the same day only the first (count 1) is
//! answered. The day is the stranger's local date in the default time zone. The janitor purges
//! rows older than `RETENTION_DAYS`, like the inbox keys that name the same conversation.
//!
//! With `STRANGERS=ignore` nothing is answered and no row is written at all.
//!
//! In ephemeral mode the counter lives in the in-memory store's slot [`SLOT`], which keeps
//! only the current day's counts.

use std::collections::HashMap;

use chrono::NaiveDate;
use futures::future::BoxFuture;

use super::StrangerPolicy;
use crate::messages::Platform;
use crate::skill::{Effect, Reply, ReplyOnly};
use crate::store::{StoreError, Tx};

/// The refusal a stranger gets, at most once a day: it names no one and nothing of the family.
pub const REPLY: &str =
    "Sorry, this is a private assistant: it only answers the people it was set up for.";

/// The in-memory store's slot of the day's counts.
pub const SLOT: &str = "alfred:stranger-refusals";

/// The in-memory counts: `(platform, conversation) → (day, count)`.
pub type Counts = HashMap<(Platform, String), (NaiveDate, i32)>;

/// Counts one message of a stranger and answers it if it is their first today.
const COUNT: &str = "INSERT INTO stranger_refusals (platform, conversation, day, count) \
     VALUES ($1, $2, $3, 1) \
     ON CONFLICT (platform, conversation, day) \
     DO UPDATE SET count = stranger_refusals.count + 1 \
     RETURNING count";

/// The effect for a stranger's message under `policy`: `conversation` is where a refusal
/// would go (their direct chat, or a group no household lists), `day` their local date.
pub fn refusal(
    policy: StrangerPolicy,
    platform: Platform,
    conversation: &str,
    day: NaiveDate,
) -> Box<dyn Effect> {
    match policy {
        StrangerPolicy::Ignore => Box::new(ReplyOnly(Vec::new())),
        StrangerPolicy::Refuse => Box::new(StrangerRefusal {
            platform,
            conversation: conversation.to_owned(),
            day,
        }),
    }
}

/// One stranger's message: counted, and refused if it is the first of their day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrangerRefusal {
    pub platform: Platform,
    pub conversation: String,
    pub day: NaiveDate,
}

impl StrangerRefusal {
    /// The day's count including this message.
    async fn count(&self, tx: &mut Tx<'_>) -> Result<i32, StoreError> {
        match tx {
            Tx::Pg(tx) => {
                let statement = tx.prepare_cached(COUNT).await?;
                let row = tx
                    .query_one(
                        &statement,
                        &[&self.platform.as_str(), &self.conversation, &self.day],
                    )
                    .await?;
                Ok(row.try_get(0)?)
            }
            Tx::Mem(tx) => {
                let counts = tx.slot::<Counts>(SLOT)?;
                // Only today's counts matter: older days are forgotten as soon as they pass.
                counts.retain(|_, (day, _)| *day >= self.day);
                let entry = counts
                    .entry((self.platform, self.conversation.clone()))
                    .or_insert((self.day, 0));
                entry.1 += 1;
                Ok(entry.1)
            }
        }
    }
}

impl Effect for StrangerRefusal {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let count = self.count(tx).await?;
            Ok(if count == 1 {
                vec![Reply::text(REPLY)]
            } else {
                Vec::new()
            })
        })
    }
}
