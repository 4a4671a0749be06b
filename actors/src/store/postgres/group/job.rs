//! What the group commit's two modes share: one message's commit and its outcome.

use crate::skill::Effect;
use crate::store::{Commit, InboxKey, ReplyTarget, StoreError};

/// One message's commit, as `Store::commit` received it.
pub(crate) struct Job {
    pub(crate) inbox: InboxKey,
    pub(crate) effect: Box<dyn Effect>,
    pub(crate) target: ReplyTarget,
}

/// What one message's caller learns.
pub(crate) type Outcome = Result<Commit, StoreError>;
