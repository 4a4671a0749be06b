//! Voice notes' transcripts kept with their messages (`transcripts`, migration 0019), so that a
//! voice note is downloaded and transcribed at most once (see `crate::voice`).
//!
//! Not coalesced like the LLM look-ups: a voice note is rare next to text, and its look-up
//! comes before a download and a transcription that take far longer than a statement.

use tokio_postgres::types::Type;

use super::statements;
use crate::messages::Platform;
use crate::store::StoreError;

const FIND: &str = "SELECT transcript FROM transcripts WHERE platform = $1 AND message_id = $2";

/// The first transcript kept wins: two replicas that transcribed at once keep one of them.
const KEEP: &str = "INSERT INTO transcripts (platform, message_id, transcript) \
     VALUES ($1, $2, $3) ON CONFLICT (platform, message_id) DO NOTHING";

/// Transcripts kept before `$1`, at most `$2` of them.
pub(super) const PURGE: &str = "DELETE FROM transcripts WHERE ctid = ANY (ARRAY(\
     SELECT ctid FROM transcripts WHERE transcribed_at < $1 LIMIT $2))";

pub(super) async fn find(
    client: &deadpool_postgres::Client,
    platform: Platform,
    message_id: &str,
) -> Result<Option<String>, StoreError> {
    let rows = statements::query(
        client,
        FIND,
        &[Type::TEXT, Type::TEXT],
        &[&platform.as_str(), &message_id],
    )
    .await?;
    match rows.first() {
        Some(row) => Ok(Some(row.try_get(0)?)),
        None => Ok(None),
    }
}

pub(super) async fn keep(
    client: &deadpool_postgres::Client,
    platform: Platform,
    message_id: &str,
    transcript: &str,
) -> Result<(), StoreError> {
    // Bounded here too, so the table's CHECK never fails a message.
    let text = crate::voice::bounded(transcript);
    statements::execute(
        client,
        KEEP,
        &[Type::TEXT, Type::TEXT, Type::TEXT],
        &[&platform.as_str(), &message_id, &text],
    )
    .await?;
    Ok(())
}
