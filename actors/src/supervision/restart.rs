//! The supervisor's decisions: restart types, strategies, intensity, escalation, operators.

use std::time::{Duration, Instant};

use super::core::{Core, CoreMsg, Op};
use super::tree::ChildState;
use super::{ExitReason, Restart, Strategy};

impl Core {
    /// A child's incarnation ended on its own.
    pub(super) async fn on_exited(&mut self, index: usize, incarnation: u64, reason: ExitReason) {
        let Some(child) = self.children.get_mut(index) else {
            return;
        };
        // An exit that crossed a stop or restart we ordered is old news.
        if !child.up || child.incarnation != incarnation {
            tracing::debug!(actor = %child.name, incarnation, %reason, "Ignoring a stale exit.");
            return;
        }
        child.up = false;
        let ran_for = child.started_at.take().map(|at| at.elapsed());
        let name = child.name.clone();
        let restart = match reason {
            ExitReason::Orphaned => false,
            _ => match child.restart {
                Restart::Permanent => true,
                Restart::Transient => reason.is_abnormal(),
                Restart::Temporary => false,
            },
        };
        if !restart {
            child.desired = false;
            let state = if reason.is_abnormal() {
                tracing::warn!(actor = %name, %reason, "Child exited and is not restarted (restart type {:?}).", child.restart);
                ChildState::Failed
            } else {
                tracing::info!(actor = %name, %reason, "Child stopped and stays down.");
                ChildState::Stopped
            };
            self.set_status(index, |status| {
                status.state = state;
                status.record_exit(&reason);
            });
            return;
        }
        self.set_status(index, |status| {
            status.state = ChildState::Restarting;
            status.record_exit(&reason);
        });
        if !self.up {
            return;
        }

        let now = Instant::now();
        self.restarts.push_back(now);
        while self
            .restarts
            .front()
            .is_some_and(|at| now.duration_since(*at) > self.intensity.period)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() > self.intensity.max_restarts {
            let why = format!(
                "more than {} restarts within {:?}; last: {name} exited with {reason}",
                self.intensity.max_restarts, self.intensity.period
            );
            self.set_status(index, |status| status.state = ChildState::Failed);
            self.escalate(why).await;
            return;
        }

        let child = &mut self.children[index];
        if ran_for.is_some_and(|ran| ran >= self.backoff.reset_after) {
            child.attempt = 0;
        }
        let delay = self.backoff.delay(child.attempt);
        child.attempt = child.attempt.saturating_add(1);
        tracing::warn!(
            actor = %name,
            %reason,
            next_incarnation = incarnation + 1,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "Child exited; restarting it after the back-off."
        );
        let group: Vec<usize> = match self.strategy {
            Strategy::OneForOne => vec![index],
            Strategy::OneForAll => (0..self.children.len()).collect(),
            Strategy::RestForOne => (index..self.children.len()).collect(),
        };
        self.restart_group(index, &group, delay).await;
    }

    /// Stops the running members of `group` other than `failed` (last started first), then
    /// starts `failed` and those members again in start order, all after `delay`.
    async fn restart_group(&mut self, failed: usize, group: &[usize], delay: Duration) {
        let mut again = vec![failed];
        for &index in group.iter().rev() {
            if index != failed && self.children[index].up {
                tracing::warn!(
                    actor = %self.children[index].name,
                    because = %self.children[failed].name,
                    strategy = ?self.strategy,
                    "Restarting a sibling of a failed child."
                );
                self.stop_child(index, false).await;
                again.push(index);
            }
        }
        again.sort_unstable();
        for index in again {
            self.start_child(index, delay, true);
        }
    }

    /// Gives up: stops every child and reports to the parent (or, at the root, to whoever
    /// awaits [`Supervisor::escalated`](super::Supervisor::escalated)).
    async fn escalate(&mut self, why: String) {
        tracing::error!(
            supervisor = %self.shared.name,
            reason = %why,
            "Supervisor exceeded its restart intensity: stopping its children and escalating."
        );
        let reason = ExitReason::Escalated(why.clone());
        self.go_down(ChildState::Failed, &reason).await;
        self.restarts.clear();
        self.shared.escalation.send_replace(Some(why));
        if let Some(parent) = &self.parent {
            let _ = parent.tx.send(CoreMsg::Exited {
                child: parent.index,
                incarnation: self.incarnation,
                reason,
            });
        }
    }

    /// An operator command. Operator restarts count as restarts but never toward intensity.
    pub(super) async fn on_operator(&mut self, child: Option<usize>, op: Op) {
        let Some(index) = child else {
            return self.on_operator_self(op).await;
        };
        let Some(name) = self.children.get(index).map(|child| child.name.clone()) else {
            return;
        };
        tracing::info!(actor = %name, ?op, "Operator command.");
        match op {
            Op::Restart => {
                self.stop_child(index, false).await;
                self.children[index].attempt = 0;
                self.start_child(index, Duration::ZERO, true);
            }
            Op::Stop => {
                self.children[index].desired = false;
                self.stop_child(index, false).await;
            }
            Op::Start => {
                if !self.children[index].up {
                    self.start_child(index, Duration::ZERO, false);
                }
            }
        }
    }

    /// An operator command addressed to this supervisor itself (its whole group).
    async fn on_operator_self(&mut self, op: Op) {
        tracing::info!(supervisor = %self.shared.name, ?op, "Operator command.");
        match op {
            Op::Restart => {
                self.go_down(ChildState::Stopped, &ExitReason::Shutdown)
                    .await;
                self.incarnation += 1;
                self.set_own(|own| own.restarts += 1);
                self.go_up(true);
            }
            Op::Stop => {
                self.go_down(ChildState::Stopped, &ExitReason::Shutdown)
                    .await
            }
            Op::Start => {
                if !self.up {
                    self.incarnation += 1;
                    self.go_up(false);
                }
            }
        }
    }
}
