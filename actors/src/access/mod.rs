//! Who may use each skill: the access rules declared in the catalogue and their evaluation.
//!
//! Each [`SkillEntry`](crate::skill::SkillEntry) declares an [`Access`]; the orchestrator
//! checks it before the skill runs — for typed text and for the command an LLM tool call
//! became alike, since both are routed to a skill the same way — and the help reply lists only
//! the skills the sender may use. The rules:
//!
//! * [`Access::Everyone`] — anyone who reaches Alfred (`ping`);
//! * [`Access::Members`] — the members of a household. With a households file these are the
//!   members' direct chats and the listed groups; a conversation no household claims is a
//!   **stranger**'s, who gets one short refusal a day (or none, `STRANGERS=ignore`) and
//!   nothing else (see [`strangers`]). Without a households file every conversation is its own
//!   household, so everyone is a member and nothing changes;
//! * [`Access::Readers`] — only the platform user ids in a list (`CRM_READERS`,
//!   `INBOX_READERS`: Slack user ids, WhatsApp numbers); with an empty list nobody, and the
//!   reply says which setting enables it.
//!
//! Scheduled jobs are not messages from anyone and are never checked. The local console
//! (`alfred chat`) is the operator's own terminal and counts as a member.
//!
//! Every refusal is counted in `alfred_refused_total{reason}` (reasons: [`STRANGER`],
//! [`NOT_READER`]; the Slack edge counts `other_workspace` and `external_user`) once per
//! message ([`counted`]) and is a normal, committed answer — never a dead letter.

pub mod counted;
pub mod strangers;

use std::sync::Arc;

use crate::messages::{InboundEnvelope, Platform};

/// `alfred_refused_total{reason="stranger"}`: a message from a conversation no household
/// claims, with a households file.
pub const STRANGER: &str = "stranger";
/// `alfred_refused_total{reason="not_reader"}`: a skill limited to a list of readers asked by
/// someone not on it.
pub const NOT_READER: &str = "not_reader";

/// Who may use a skill, declared with it in the catalogue.
#[derive(Debug, Clone)]
pub enum Access {
    /// Anyone who reaches Alfred.
    Everyone,
    /// The members of a household (everyone, without a households file).
    Members,
    /// Only the people on a list.
    Readers(Readers),
}

/// A list of platform user ids allowed to use a skill, and what everyone else is told.
#[derive(Debug, Clone)]
pub struct Readers {
    /// Slack user ids (`U024BE7LH`) and WhatsApp numbers (`4917011111111`).
    ids: Arc<[String]>,
    /// The answer to someone not on the list; says nothing of what the skill holds.
    refusal: &'static str,
    /// The answer while the list is empty: how an operator enables the skill.
    unset: &'static str,
}

impl Readers {
    /// Readers `ids`; `refusal` answers everyone else, `unset` everyone while `ids` is empty.
    pub fn new(ids: impl Into<Arc<[String]>>, refusal: &'static str, unset: &'static str) -> Self {
        Readers {
            ids: ids.into(),
            refusal,
            unset,
        }
    }

    /// Whether `sender` is on the list. A WhatsApp number matches with or without its `+`.
    pub fn contains(&self, sender: &str) -> bool {
        let sender = sender.trim_start_matches('+');
        self.ids
            .iter()
            .any(|id| id.trim_start_matches('+') == sender)
    }
}

/// Who sent a message, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    /// The platform user id (WhatsApp `wa_id`, Slack user id).
    pub sender: String,
    /// Whether the message comes from a household's conversation (always, without a
    /// households file).
    pub member: bool,
}

impl Asker {
    /// The asker of `envelope`: a member when the households (or their absence) say so, or
    /// when it comes from the local console or the scheduler.
    pub fn of(
        envelope: &InboundEnvelope,
        households: &crate::households::HouseholdDirectory,
    ) -> Self {
        let trusted = matches!(envelope.platform, Platform::Console | Platform::Scheduler);
        Asker {
            sender: envelope.sender.id.clone(),
            member: trusted || households.claims(envelope),
        }
    }
}

/// Why a rule refused, and what the sender is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a member: the stranger's once-a-day refusal (or silence), see [`strangers`].
    Stranger,
    /// Not on the skill's list: this answer.
    NotReader(&'static str),
}

impl Refusal {
    /// The `reason` label of `alfred_refused_total`.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Stranger => STRANGER,
            Refusal::NotReader(_) => NOT_READER,
        }
    }
}

impl Access {
    /// Whether `asker` may use the skill.
    ///
    /// # Errors
    /// The [`Refusal`] when not. Only a member gets past [`Access::Members`] and
    /// [`Access::Readers`]: a list never opens a skill to a stranger.
    pub fn check(&self, asker: &Asker) -> Result<(), Refusal> {
        match self {
            Access::Everyone => Ok(()),
            _ if !asker.member => Err(Refusal::Stranger),
            Access::Members => Ok(()),
            Access::Readers(readers) if readers.ids.is_empty() => {
                Err(Refusal::NotReader(readers.unset))
            }
            Access::Readers(readers) if readers.contains(&asker.sender) => Ok(()),
            Access::Readers(readers) => Err(Refusal::NotReader(readers.refusal)),
        }
    }

    /// Whether `asker` may use the skill (for listing it in help).
    pub fn allows(&self, asker: &Asker) -> bool {
        self.check(asker).is_ok()
    }
}

/// What a stranger gets (`STRANGERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrangerPolicy {
    /// One short refusal a day, revealing nothing of the family (the default).
    #[default]
    Refuse,
    /// No answer at all.
    Ignore,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO: &str = "The CRM is private.";
    const UNSET: &str = "Set CRM_READERS.";

    fn asker(sender: &str, member: bool) -> Asker {
        Asker {
            sender: sender.to_owned(),
            member,
        }
    }

    fn readers(ids: &[&str]) -> Access {
        let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
        Access::Readers(Readers::new(ids, NO, UNSET))
    }

    #[test]
    fn everyone_means_everyone_even_a_stranger() {
        assert_eq!(Access::Everyone.check(&asker("U1", false)), Ok(()));
        assert_eq!(Access::Everyone.check(&asker("U1", true)), Ok(()));
    }

    #[test]
    fn members_only_lets_members_in() {
        assert_eq!(Access::Members.check(&asker("4917011111111", true)), Ok(()));
        assert_eq!(
            Access::Members.check(&asker("4915550000000", false)),
            Err(Refusal::Stranger)
        );
    }

    #[test]
    fn readers_lets_in_only_the_listed_ids() {
        let crm = readers(&["U0ANNA001", "+4917011111111"]);
        assert_eq!(crm.check(&asker("U0ANNA001", true)), Ok(()));
        assert_eq!(
            crm.check(&asker("4917011111111", true)),
            Ok(()),
            "a WhatsApp number matches with or without +"
        );
        assert_eq!(
            crm.check(&asker("U0BOB0001", true)),
            Err(Refusal::NotReader(NO))
        );
    }

    #[test]
    fn an_empty_reader_list_answers_nobody_and_says_how_to_enable_it() {
        assert_eq!(
            readers(&[]).check(&asker("U0ANNA001", true)),
            Err(Refusal::NotReader(UNSET))
        );
    }

    #[test]
    fn a_reader_list_never_opens_a_skill_to_a_stranger() {
        assert_eq!(
            readers(&["4917011111111"]).check(&asker("4917011111111", false)),
            Err(Refusal::Stranger)
        );
    }

    #[test]
    fn refusals_are_counted_under_the_documented_reasons() {
        assert_eq!(Refusal::Stranger.reason(), "stranger");
        assert_eq!(Refusal::NotReader(NO).reason(), "not_reader");
    }
}
