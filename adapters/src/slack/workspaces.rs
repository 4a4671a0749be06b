//! The Slack workspaces Alfred answers: `SLACK_TEAM_IDS`, or else the bot token's own
//! workspace, which Slack's `auth.test` names at start-up.
//!
//! A request signed with our signing secret can still come from another workspace (a
//! distributed app installed elsewhere) or from a person of another workspace in a shared
//! channel (Slack Connect). The edge checks both before storing anything: a request from
//! another workspace is answered 200 (so Slack does not retry) and only counted
//! (`alfred_refused_total{reason="other_workspace"}`), an event by a user of another workspace
//! likewise (`external_user`).
//!
//! Learned from `auth.test`, the workspace is unknown until Slack first answers. Start-up does
//! not wait for it; a request arriving before then waits briefly ([`Workspaces::allowed`]) and
//! otherwise gets 503, so Slack delivers it again: nothing is let in unchecked.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The allowed workspace ids, fixed or still to be learned. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Workspaces {
    ids: watch::Receiver<Option<Arc<[String]>>>,
}

/// Fills in the workspace of [`Workspaces::learned`] once `auth.test` names it.
#[derive(Debug)]
pub struct WorkspaceLearner {
    ids: watch::Sender<Option<Arc<[String]>>>,
}

impl Workspaces {
    /// The workspaces `SLACK_TEAM_IDS` lists.
    pub fn fixed(ids: Vec<String>) -> Self {
        let (_, ids) = watch::channel(Some(ids.into()));
        Workspaces { ids }
    }

    /// The bot token's own workspace, unknown until the learner is told it.
    pub fn learned() -> (Self, WorkspaceLearner) {
        let (sender, ids) = watch::channel(None);
        (Workspaces { ids }, WorkspaceLearner { ids: sender })
    }

    /// The allowed workspace ids, waiting up to `wait` while they are not known yet; `None`
    /// when they are still unknown then.
    pub async fn allowed(&self, wait: Duration) -> Option<Arc<[String]>> {
        let mut ids = self.ids.clone();
        let known = tokio::time::timeout(wait, ids.wait_for(Option::is_some)).await;
        match known {
            Ok(Ok(ids)) => ids.clone(),
            // The learner is gone without an answer, or time is up: still unknown.
            Ok(Err(_)) | Err(_) => self.ids.borrow().clone(),
        }
    }
}

impl WorkspaceLearner {
    /// The bot token's workspace, as `auth.test` answered.
    pub fn learn(&self, team_id: String) {
        self.ids.send_replace(Some(vec![team_id].into()));
    }
}

/// Why a Slack request from a known workspace list is refused, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRefusal {
    /// The request's workspace (`team_id`) is not allowed.
    OtherWorkspace,
    /// The person belongs to another workspace (Slack Connect's `user_team`).
    ExternalUser,
}

impl TeamRefusal {
    /// The `reason` label of `alfred_refused_total`.
    pub fn reason(self) -> &'static str {
        match self {
            TeamRefusal::OtherWorkspace => "other_workspace",
            TeamRefusal::ExternalUser => "external_user",
        }
    }
}

/// Checks a request's workspace `team_id` and, when Slack names it, the person's own
/// workspace `user_team` against `allowed`.
pub fn check_teams(
    allowed: &[String],
    team_id: &str,
    user_team: Option<&str>,
) -> Result<(), TeamRefusal> {
    let known = |team: &str| allowed.iter().any(|id| id == team);
    if !known(team_id) {
        return Err(TeamRefusal::OtherWorkspace);
    }
    match user_team {
        Some(team) if !known(team) => Err(TeamRefusal::ExternalUser),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Vec<String> {
        vec!["T0TEAM001".to_owned()]
    }

    #[test]
    fn our_workspace_and_our_people_pass() {
        assert_eq!(check_teams(&ours(), "T0TEAM001", None), Ok(()));
        assert_eq!(check_teams(&ours(), "T0TEAM001", Some("T0TEAM001")), Ok(()));
    }

    #[test]
    fn another_workspace_is_refused() {
        assert_eq!(
            check_teams(&ours(), "T0OTHER01", Some("T0OTHER01")),
            Err(TeamRefusal::OtherWorkspace)
        );
    }

    #[test]
    fn a_person_of_another_workspace_in_a_shared_channel_is_refused() {
        assert_eq!(
            check_teams(&ours(), "T0TEAM001", Some("T0OTHER01")),
            Err(TeamRefusal::ExternalUser)
        );
    }

    #[tokio::test]
    async fn a_learned_workspace_is_unknown_until_auth_test_names_it() {
        let (workspaces, learner) = Workspaces::learned();
        assert_eq!(workspaces.allowed(Duration::from_millis(1)).await, None);

        learner.learn("T0TEAM001".to_owned());

        let allowed = workspaces.allowed(Duration::from_millis(1)).await;
        assert_eq!(allowed.as_deref(), Some(&ours()[..]));
    }
}
