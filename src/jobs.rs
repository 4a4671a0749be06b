//! The scheduled jobs of the configured households (DESIGN.md §2, the Scheduler).

use std::time::Duration;

use alfred_actors::messages::Platform;
use alfred_actors::scheduler::ScheduledJob;
use alfred_config::households::{BriefingTarget, Household};
use alfred_config::Settings;

/// The morning briefing's job name.
pub const BRIEFING: &str = "briefing";
/// The daily chore reminders' job name.
pub const CHORE_REMINDERS: &str = "chore-reminders";
/// How late chore reminders may still go out after downtime.
const REMINDER_CATCH_UP: Duration = Duration::from_secs(60 * 60);

/// The account scheduled messages are addressed from when WhatsApp chats are answered in this
/// process (`alfred chat`, the playground) and no WhatsApp number is configured.
pub const LOCAL_ACCOUNT: &str = "local";

/// Every household's jobs. Scheduled messages go out on WhatsApp, so without WhatsApp settings
/// there is nothing to schedule — unless WhatsApp chats are answered here (`local_chats`: the
/// console, the playground).
pub fn scheduled_jobs(settings: &Settings, local_chats: bool) -> Vec<ScheduledJob> {
    let account = match &settings.whatsapp {
        Some(whatsapp) => whatsapp.phone_id.clone(),
        None if local_chats => LOCAL_ACCOUNT.to_owned(),
        None => {
            warn_nothing_scheduled(settings);
            return Vec::new();
        }
    };
    let mut jobs = Vec::new();
    for household in &settings.households {
        if let Some(briefing) = &household.briefing {
            let (conversation, is_group) = target(household, &briefing.to);
            if let Some(conversation) = conversation {
                jobs.push(ScheduledJob {
                    job: BRIEFING.to_owned(),
                    household: household.id.clone(),
                    timezone: household.timezone,
                    at: briefing.time,
                    catch_up: briefing.catch_up,
                    platform: Platform::WhatsApp,
                    account: account.clone(),
                    conversation,
                    is_group,
                });
            }
        }
        if let Some(at) = household.chores.as_ref().and_then(|c| c.reminder_time) {
            let (conversation, is_group) = target(household, &BriefingTarget::Group);
            let fallback = household.members.iter().find_map(|m| m.whatsapp.clone());
            if let Some(conversation) = conversation.or(fallback) {
                jobs.push(ScheduledJob {
                    job: CHORE_REMINDERS.to_owned(),
                    household: household.id.clone(),
                    timezone: household.timezone,
                    at,
                    catch_up: REMINDER_CATCH_UP,
                    platform: Platform::WhatsApp,
                    account: account.clone(),
                    conversation,
                    is_group,
                });
            }
        }
    }
    jobs
}

/// Households with jobs and no WhatsApp to send them: the configuration promises something
/// that will not happen.
fn warn_nothing_scheduled(settings: &Settings) {
    if settings
        .households
        .iter()
        .any(|h| h.briefing.is_some() || h.chores.is_some())
    {
        tracing::warn!(
            "Households have scheduled jobs but WhatsApp is not configured; nothing is scheduled."
        );
    }
}

/// The conversation of a target, and whether it is a group: the household's first group, or
/// a member's direct chat.
fn target(household: &Household, to: &BriefingTarget) -> (Option<String>, bool) {
    match to {
        BriefingTarget::Group => {
            let group = household.groups.first().cloned();
            let is_group = group.is_some();
            (group, is_group)
        }
        BriefingTarget::Member(name) => {
            let member = household.members.iter().find(|m| &m.name == name);
            (member.and_then(|m| m.whatsapp.clone()), false)
        }
    }
}
