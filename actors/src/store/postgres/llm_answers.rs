//! The LLM's answers kept with their messages (`llm_answers`, migration 0014), and the
//! inbox look-up that comes before asking ([`Store::prior`](crate::store::Store::prior)).

use tokio_postgres::types::Type;

use super::statements;
use crate::messages::Platform;
use crate::store::{LlmAnswer, Prior, StoreError};

/// `$1` platform, `$2` message id: whether the inbox holds it, and the kept answer if any.
const PRIOR: &str = "SELECT \
     EXISTS (SELECT 1 FROM inbox WHERE platform = $1 AND message_id = $2), \
     a.outcome, a.command \
     FROM (SELECT 1) AS one \
     LEFT JOIN llm_answers a ON a.platform = $1 AND a.message_id = $2";

/// The first answer kept wins: two replicas that asked at once keep one of them.
const KEEP: &str = "INSERT INTO llm_answers (platform, message_id, outcome, command) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (platform, message_id) DO NOTHING";

/// Answers kept before `$1`, at most `$2` of them.
pub(super) const PURGE: &str = "DELETE FROM llm_answers WHERE ctid = ANY (ARRAY(\
     SELECT ctid FROM llm_answers WHERE answered_at < $1 LIMIT $2))";

pub(super) async fn prior(
    client: &deadpool_postgres::Client,
    platform: Platform,
    message_id: &str,
) -> Result<Prior, StoreError> {
    let row = statements::query(
        client,
        PRIOR,
        &[Type::TEXT, Type::TEXT],
        &[&platform.as_str(), &message_id],
    )
    .await?;
    let Some(row) = row.first() else {
        return Ok(Prior::New);
    };
    if row.try_get::<_, bool>(0)? {
        return Ok(Prior::Handled);
    }
    let outcome: Option<String> = row.try_get(1)?;
    Ok(match outcome {
        Some(outcome) => Prior::Interpreted(LlmAnswer {
            outcome,
            command: row.try_get(2)?,
        }),
        None => Prior::New,
    })
}

pub(super) async fn keep(
    client: &deadpool_postgres::Client,
    platform: Platform,
    message_id: &str,
    answer: &LlmAnswer,
) -> Result<(), StoreError> {
    statements::execute(
        client,
        KEEP,
        &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
        &[
            &platform.as_str(),
            &message_id,
            &answer.outcome,
            &answer.command,
        ],
    )
    .await?;
    Ok(())
}
