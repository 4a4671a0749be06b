//! Batches handed to the handler whose results are not all in yet, oldest first.
//!
//! Why several: the handler (the orchestrator) answers an entry only once its effect is
//! committed, so a reader that waited for a whole batch before reading the next left Postgres
//! idle between batches. Keeping a few batches in flight keeps it busy with one reader, and
//! one reader per process is what keeps a conversation's messages in stream order (a second
//! reader hands its entries over independently; see the store-outage ADR's addendum).
//!
//! Order: every entry reaches the handler's mailbox in stream order, across batches. An actix
//! `send` enqueues the message at once, or, when the mailbox is full, at the request's first
//! poll; so each batch's requests are polled once, in order, as soon as they are created
//! ([`InFlight::push`]), before the next batch is read, and every later wake-up polls all
//! requests in order again. Results are settled batch by batch, oldest first.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix::MailboxError;
use futures::future::{maybe_done, MaybeDone};

use super::DeliveryError;
use crate::bus::StreamEntry;

/// One entry's request to the handler.
pub(super) type Request =
    Pin<Box<dyn Future<Output = Result<Result<(), DeliveryError>, MailboxError>>>>;

/// One batch: the entries given up without a delivery, and those handed to the handler with
/// their requests (same order).
pub(super) struct Dispatched {
    /// The batch's `stream_batch` span (settling runs in it too).
    pub(super) span: tracing::Span,
    /// Entries already delivered too often: dead-lettered without a delivery.
    pub(super) overdue: Vec<StreamEntry>,
    /// Entries handed to the handler, in stream order.
    pub(super) due: Vec<StreamEntry>,
    requests: Vec<MaybeDone<Request>>,
}

/// A batch whose every result is in.
pub(super) struct Answered {
    pub(super) span: tracing::Span,
    pub(super) overdue: Vec<StreamEntry>,
    pub(super) due: Vec<StreamEntry>,
    /// One per entry of `due`, in the same order.
    pub(super) results: Vec<Result<Result<(), DeliveryError>, MailboxError>>,
}

impl Dispatched {
    pub(super) fn new(
        span: tracing::Span,
        overdue: Vec<StreamEntry>,
        due: Vec<StreamEntry>,
        requests: Vec<Request>,
    ) -> Dispatched {
        Dispatched {
            span,
            overdue,
            due,
            requests: requests.into_iter().map(maybe_done).collect(),
        }
    }

    /// Polls every request in order; whether all are answered.
    fn poll_all(&mut self, cx: &mut Context<'_>) -> bool {
        let mut done = true;
        for request in self.requests.iter_mut() {
            done &= Pin::new(request).poll(cx).is_ready();
        }
        done
    }

    /// The results; only once [`Dispatched::poll_all`] said all are in.
    fn answered(mut self) -> Answered {
        let results = self
            .requests
            .iter_mut()
            .filter_map(|request| Pin::new(request).take_output())
            .collect();
        Answered {
            span: self.span,
            overdue: self.overdue,
            due: self.due,
            results,
        }
    }

    /// Waits for every result of this batch alone.
    pub(super) async fn wait(mut self) -> Answered {
        poll_fn(|cx| {
            if self.poll_all(cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        self.answered()
    }
}

/// The batches in flight, oldest first, and how many entries they hold.
#[derive(Default)]
pub(super) struct InFlight {
    batches: VecDeque<Dispatched>,
    entries: usize,
}

impl InFlight {
    /// Entries handed over whose batch is not settled yet.
    pub(super) fn entries(&self) -> usize {
        self.entries
    }

    pub(super) fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Adds a batch after the others and polls its requests once, in order, so that each is in
    /// the handler's mailbox before anything of a later batch (see the module doc). The poll
    /// uses a no-op waker: every wait polls all requests again with the reader's own.
    pub(super) fn push(&mut self, mut batch: Dispatched) {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        batch.poll_all(&mut cx);
        self.entries += batch.due.len() + batch.overdue.len();
        self.batches.push_back(batch);
    }

    /// The oldest batch, once all its results are in; `None` when nothing is in flight.
    pub(super) async fn next_answered(&mut self) -> Option<Answered> {
        if self.batches.is_empty() {
            return None;
        }
        poll_fn(|cx| self.poll_front(cx)).await;
        self.pop_front()
    }

    /// The oldest batch if all its results are already in, without waiting.
    pub(super) fn try_next_answered(&mut self) -> Option<Answered> {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        match self.poll_front(&mut cx) {
            Poll::Ready(()) => self.pop_front(),
            Poll::Pending => None,
        }
    }

    /// Polls every batch's requests, oldest first; ready when the oldest batch is answered
    /// (or nothing is in flight).
    fn poll_front(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut front = true;
        for (index, batch) in self.batches.iter_mut().enumerate() {
            let done = batch.poll_all(cx);
            if index == 0 {
                front = done;
            }
        }
        if front {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn pop_front(&mut self) -> Option<Answered> {
        let batch = self.batches.pop_front()?;
        self.entries -= batch.due.len() + batch.overdue.len();
        Some(batch.answered())
    }
}
