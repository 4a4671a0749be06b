//! Conversations waiting for a failed message: what keeps a later message from committing
//! before an earlier one that failed and will be delivered again.
//!
//! The [`Sequencer`](crate::sequencer::Sequencer) orders the messages *in flight*: a message
//! whose predecessor fails steps back too. But a message that failed with a retryable error
//! (a skill that panicked, a deadlock victim) comes back only through the reader's idle claim,
//! later; meanwhile its successors would be delivered again, or arrive new, with nothing in
//! flight ahead of them, and commit first. So the orchestrator remembers, per conversation,
//! the stream entries that are *outstanding*: the failed one, and every later one that arrived
//! while it was. A message may be handled only when no earlier entry of its conversation is
//! outstanding; otherwise it is deferred ([`DeliveryError::Deferred`]: left pending, its
//! delivery not counted) and joins the outstanding ones. An entry stops being outstanding when
//! it is handled, or given up (dead-lettered), and the conversation is forgotten when none is.
//!
//! The claim brings deferred entries back in stream order, so the earliest outstanding entry of
//! a conversation is always the next one handled. The memory is this process's only: after a
//! restart the reader re-reads its own pending entries in stream order first, which keeps the
//! order without it. A conversation whose failed entry another consumer took over (and this one
//! never sees again) is forgotten after [`FORGET_AFTER`].
//!
//! [`DeliveryError::Deferred`]: crate::stream_reader::DeliveryError::Deferred

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// How long a conversation may stay waiting without any of its outstanding entries coming
/// back; far beyond the claim-idle time times the delivery limit of any sane configuration.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// A stream entry id (`{ms}-{seq}`), ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryId(u64, u64);

impl EntryId {
    /// Parses `{ms}-{seq}`; `None` for anything else.
    pub fn parse(id: &str) -> Option<EntryId> {
        let (ms, seq) = id.split_once('-')?;
        Some(EntryId(ms.parse().ok()?, seq.parse().ok()?))
    }
}

/// The outstanding entries of one conversation.
#[derive(Debug)]
struct Outstanding {
    entries: BTreeSet<EntryId>,
    /// When one of its entries last failed (deferring does not count: deferred entries come
    /// back on every claim, and would keep a conversation nobody comes back to for ever).
    touched: Instant,
}

/// Per conversation, the entries that wait for an earlier failed one (see the module doc).
#[derive(Debug, Default)]
pub struct Waiting {
    conversations: HashMap<String, Outstanding>,
}

impl Waiting {
    /// Whether `entry` of `conversation` must wait for an earlier outstanding entry. When it
    /// must, it becomes outstanding itself (so the entries after it wait for it too).
    pub fn must_wait(&mut self, conversation: &str, entry: EntryId, now: Instant) -> bool {
        let Some(outstanding) = self.conversations.get_mut(conversation) else {
            return false;
        };
        if now.duration_since(outstanding.touched) >= FORGET_AFTER {
            self.conversations.remove(conversation);
            return false;
        }
        let first = outstanding.entries.first().copied();
        match first {
            Some(first) if first < entry => {
                outstanding.entries.insert(entry);
                true
            }
            _ => false,
        }
    }

    /// `entry` failed and will be delivered again: the conversation's later entries wait for it.
    pub fn failed(&mut self, conversation: &str, entry: EntryId, now: Instant) {
        let outstanding = self
            .conversations
            .entry(conversation.to_owned())
            .or_insert_with(|| Outstanding {
                entries: BTreeSet::new(),
                touched: now,
            });
        outstanding.entries.insert(entry);
        outstanding.touched = now;
    }

    /// `entry` is done with (handled, or given up): the next outstanding entry may go.
    pub fn done(&mut self, conversation: &str, entry: EntryId) {
        if let Some(outstanding) = self.conversations.get_mut(conversation) {
            outstanding.entries.remove(&entry);
            if outstanding.entries.is_empty() {
                self.conversations.remove(conversation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> EntryId {
        EntryId(ms, seq)
    }

    #[test]
    fn entry_ids_parse_and_order_numerically() {
        assert_eq!(
            EntryId::parse("1700000000000-2"),
            Some(id(1_700_000_000_000, 2))
        );
        assert_eq!(EntryId::parse("12"), None);
        assert_eq!(EntryId::parse("a-1"), None);
        assert!(
            EntryId::parse("9-0") < EntryId::parse("10-0"),
            "not as text"
        );
        assert!(EntryId::parse("10-2") < EntryId::parse("10-10"));
    }

    #[test]
    fn a_later_entry_waits_for_a_failed_one_and_goes_once_it_is_done() {
        let now = Instant::now();
        let mut waiting = Waiting::default();
        assert!(!waiting.must_wait("c", id(1, 0), now), "nothing failed yet");
        waiting.failed("c", id(1, 0), now);
        assert!(waiting.must_wait("c", id(2, 0), now));
        assert!(waiting.must_wait("c", id(3, 0), now));
        assert!(
            !waiting.must_wait("other", id(2, 0), now),
            "other conversations go on"
        );
        assert!(
            !waiting.must_wait("c", id(1, 0), now),
            "the failed one itself goes"
        );
        waiting.done("c", id(1, 0));
        // The first deferred entry is now the earliest outstanding: it goes, the next waits.
        assert!(!waiting.must_wait("c", id(2, 0), now));
        assert!(waiting.must_wait("c", id(3, 0), now));
        waiting.done("c", id(2, 0));
        // A new entry arriving now still waits for the deferred one before it.
        assert!(waiting.must_wait("c", id(4, 0), now));
        waiting.done("c", id(3, 0));
        waiting.done("c", id(4, 0));
        assert!(
            waiting.conversations.is_empty(),
            "forgotten once nothing is outstanding"
        );
    }

    #[test]
    fn a_conversation_nobody_comes_back_to_is_forgotten() {
        let now = Instant::now();
        let mut waiting = Waiting::default();
        waiting.failed("c", id(1, 0), now);
        assert!(waiting.must_wait("c", id(2, 0), now + FORGET_AFTER / 2));
        assert!(!waiting.must_wait("c", id(3, 0), now + FORGET_AFTER * 2));
        assert!(waiting.conversations.is_empty());
    }
}
