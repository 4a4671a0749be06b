//! The child runner: one task per supervised actor, driving incarnation after incarnation.
//!
//! Why not `ContextFut::restart`: it keeps the old actor value (only `Supervised::restarting`
//! could reset it, and `started` would run on the stale value first), and a `ContextFut` cannot
//! give its mailbox back. So the runner owns the mailbox receiver behind the child's stable
//! [`Addr`] and, for every incarnation, builds a fresh actor (factory) in a fresh [`Context`]
//! into which it spawns a [`Relay`]: an actor future that takes envelopes from the stable
//! mailbox and handles them with the incarnation's actor and context. The context future is
//! polled inside `catch_unwind`; when it panics or stops, the runner takes the receiver back,
//! drops the incarnation and waits for its supervisor's decision. Queued messages stay in the
//! receiver; only the envelope being handled at the panic is lost (its sender sees
//! `MailboxError::Closed`).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll};

use actix::dev::channel::AddressReceiver;
use actix::dev::{ContextFut, EnvelopeProxy};
use actix::fut::ActorFuture;
use actix::{Actor, ActorContext, AsyncContext, Context};
use futures::Stream;
use tokio::sync::{mpsc, oneshot};

use super::core::{Control, CoreMsg};
use super::{ExitReason, Shutdown};

thread_local! {
    /// The reason given to [`fail`] during the current poll of an incarnation on this thread.
    /// A thread-local is enough: an incarnation is polled synchronously on one thread and the
    /// runner clears and reads it around every poll.
    static FAILURE: Cell<Option<String>> = const { Cell::new(None) };
}

/// Stops the actor with an error exit: its supervisor treats the exit as abnormal (a transient
/// child is restarted), unlike a plain `ctx.stop()`, which is a normal exit.
pub fn fail<A>(ctx: &mut Context<A>, reason: impl Into<String>)
where
    A: Actor<Context = Context<A>>,
{
    FAILURE.with(|failure| failure.set(Some(reason.into())));
    ctx.stop();
}

/// Envelopes handled per poll before the relay yields, so one busy actor cannot starve the
/// other tasks of its arbiter.
const RELAY_BUDGET: usize = 64;

type Inbox<A> = Rc<RefCell<Option<AddressReceiver<A>>>>;

/// Feeds the stable mailbox into one incarnation, honouring `ctx.wait` and `ctx.stop` the way
/// actix's own mailbox does (it stops taking messages while the context is waiting or stopping).
struct Relay<A: Actor<Context = Context<A>>> {
    inbox: Inbox<A>,
}

impl<A: Actor<Context = Context<A>>> ActorFuture<A> for Relay<A> {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        task: &mut TaskContext<'_>,
    ) -> Poll<()> {
        for _ in 0..RELAY_BUDGET {
            if ctx.waiting() {
                // The context polls its wait queue and comes back; the wake is a safety net.
                task.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut envelope = {
                let mut inbox = self.inbox.borrow_mut();
                let Some(receiver) = inbox.as_mut() else {
                    return Poll::Ready(());
                };
                match Pin::new(&mut *receiver).poll_next(task) {
                    Poll::Ready(Some(envelope)) => envelope,
                    Poll::Ready(None) => return Poll::Ready(()),
                    // Like actix: with no address left there is nothing more to relay.
                    Poll::Pending if !receiver.connected() => return Poll::Ready(()),
                    Poll::Pending => return Poll::Pending,
                }
            };
            envelope.handle(act, ctx);
        }
        task.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Everything a runner needs, `Send` when the factory is, so it can move to another arbiter.
pub(crate) struct Runner<A: Actor<Context = Context<A>>, F> {
    pub index: usize,
    pub factory: F,
    pub shutdown: Shutdown,
    pub receiver: AddressReceiver<A>,
    pub control: mpsc::UnboundedReceiver<Control>,
    pub report: mpsc::UnboundedSender<CoreMsg>,
}

/// How a running incarnation ended.
enum Ended {
    /// On its own; reported to the supervisor.
    Exited(ExitReason),
    /// Stopped on request; the reason goes to the requester.
    Stopped(oneshot::Sender<ExitReason>, ExitReason),
    /// Stopped for good, on request or because the supervisor is gone.
    Terminated(Option<oneshot::Sender<ExitReason>>, ExitReason),
}

struct Running<A: Actor<Context = Context<A>>> {
    fut: ContextFut<A, Context<A>>,
    /// A reason given to [`fail`] in an earlier poll of this incarnation.
    failure: Option<String>,
}

impl<A: Actor<Context = Context<A>>> Running<A> {
    /// Polls the incarnation once, turning a panic into an exit.
    fn poll(&mut self, cx: &mut TaskContext<'_>) -> Poll<ExitReason> {
        FAILURE.with(|failure| failure.set(None));
        let polled = catch_unwind(AssertUnwindSafe(|| Pin::new(&mut self.fut).poll(cx)));
        if let Some(reason) = FAILURE.with(Cell::take) {
            self.failure = Some(reason);
        }
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(match self.failure.take() {
                Some(reason) => ExitReason::Error(reason),
                None => ExitReason::Normal,
            }),
            Err(payload) => Poll::Ready(ExitReason::Panic(panic_message(payload.as_ref()))),
        }
    }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-text panic payload".to_owned()
    }
}

impl<A, F> Runner<A, F>
where
    A: Actor<Context = Context<A>>,
    F: Fn() -> A + 'static,
{
    /// Runs until terminated: waits for `Start`, runs the incarnation, reports, repeats.
    pub async fn run(self) {
        let Runner {
            index,
            factory,
            shutdown,
            receiver,
            mut control,
            report,
        } = self;
        let inbox: Inbox<A> = Rc::new(RefCell::new(Some(receiver)));
        let mut next: Option<Control> = None;
        loop {
            let command = match next.take() {
                Some(command) => command,
                None => match control.recv().await {
                    Some(command) => command,
                    None => return,
                },
            };
            let (incarnation, delay) = match command {
                Control::Start { incarnation, delay } => (incarnation, delay),
                Control::Stop { reply } => {
                    let _ = reply.send(ExitReason::Shutdown);
                    continue;
                }
                Control::Terminate { reply } => {
                    let _ = reply.send(ExitReason::Shutdown);
                    return;
                }
            };
            if !delay.is_zero() {
                // The back-off can be cut short by any later command (stop, a newer start).
                tokio::select! {
                    _ = actix_rt::time::sleep(delay) => {}
                    command = control.recv() => match command {
                        Some(command) => { next = Some(command); continue; }
                        None => return,
                    },
                }
            }
            let _ = report.send(CoreMsg::Started {
                child: index,
                incarnation,
            });
            let ended = match catch_unwind(AssertUnwindSafe(&factory)) {
                Ok(actor) => {
                    let mut ctx = Context::new();
                    ctx.spawn(Relay {
                        inbox: inbox.clone(),
                    });
                    let running = Running {
                        fut: ctx.into_future(actor),
                        failure: None,
                    };
                    run_incarnation(running, &inbox, shutdown, &mut control).await
                }
                Err(payload) => Ended::Exited(ExitReason::Panic(format!(
                    "factory: {}",
                    panic_message(payload.as_ref())
                ))),
            };
            match ended {
                Ended::Exited(reason) => {
                    let _ = report.send(CoreMsg::Exited {
                        child: index,
                        incarnation,
                        reason,
                    });
                }
                Ended::Stopped(reply, reason) => {
                    let _ = reply.send(reason);
                }
                Ended::Terminated(reply, reason) => {
                    if let Some(reply) = reply {
                        let _ = reply.send(reason);
                    }
                    return;
                }
            }
        }
    }
}

/// Drives one incarnation until it ends on its own or is stopped on request.
async fn run_incarnation<A: Actor<Context = Context<A>>>(
    mut running: Running<A>,
    inbox: &Inbox<A>,
    shutdown: Shutdown,
    control: &mut mpsc::UnboundedReceiver<Control>,
) -> Ended {
    loop {
        let event = poll_fn(|cx| {
            if let Poll::Ready(command) = control.poll_recv(cx) {
                return Poll::Ready(Err(command));
            }
            running.poll(cx).map(Ok)
        })
        .await;
        match event {
            Ok(mut reason) => {
                discard(running, inbox);
                let orphaned = inbox
                    .borrow()
                    .as_ref()
                    .is_some_and(|receiver| !receiver.connected());
                if reason == ExitReason::Normal && orphaned {
                    reason = ExitReason::Orphaned;
                }
                return Ended::Exited(reason);
            }
            // Already running: a duplicate start changes nothing.
            Err(Some(Control::Start { .. })) => continue,
            Err(Some(Control::Stop { reply })) => {
                let reason = stop(running, inbox, shutdown).await;
                return Ended::Stopped(reply, reason);
            }
            Err(Some(Control::Terminate { reply })) => {
                let reason = stop(running, inbox, shutdown).await;
                return Ended::Terminated(Some(reply), reason);
            }
            Err(None) => {
                let reason = stop(running, inbox, shutdown).await;
                return Ended::Terminated(None, reason);
            }
        }
    }
}

/// Stops an incarnation as its shutdown spec says.
async fn stop<A: Actor<Context = Context<A>>>(
    mut running: Running<A>,
    inbox: &Inbox<A>,
    shutdown: Shutdown,
) -> ExitReason {
    let reason = match shutdown {
        Shutdown::Kill => ExitReason::Killed,
        Shutdown::Graceful(timeout) => {
            running.fut.ctx().stop();
            let stopped = actix_rt::time::timeout(timeout, poll_fn(|cx| running.poll(cx))).await;
            match stopped {
                Ok(ExitReason::Panic(message)) => ExitReason::Panic(message),
                Ok(_) => ExitReason::Shutdown,
                Err(_) => ExitReason::Killed,
            }
        }
    };
    discard(running, inbox);
    reason
}

/// Drops an incarnation without running anything more of it.
///
/// `ContextFut`'s `Drop` polls a context that is still alive, which would hand it more queued
/// messages or run its hooks after a panic; terminating it first and lending the receiver away
/// during the drop rules both out. A panic in the actor's own `Drop` is contained here.
fn discard<A: Actor<Context = Context<A>>>(mut running: Running<A>, inbox: &Inbox<A>) {
    let receiver = inbox.borrow_mut().take();
    running.fut.ctx().terminate();
    let _ = catch_unwind(AssertUnwindSafe(move || drop(running)));
    *inbox.borrow_mut() = receiver;
}
