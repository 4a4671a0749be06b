//! How the briefing goes out: free text inside WhatsApp's customer-service window, the
//! household's approved template outside it.
//!
//! WhatsApp lets a business send free text to a person only within 24 hours of that person's
//! last message in the conversation (the customer-service window); after that, only a message
//! template approved by Meta. A morning briefing to a quiet family would otherwise be refused
//! (Graph error 131047). Other platforms have no such window.

use alfred_actors::messages::Platform;
use chrono::{DateTime, Duration, Utc};

use super::model::{Briefing, TemplateField};
use super::render;

/// How long after a person's last message free text may still be sent to them.
pub const SERVICE_WINDOW_HOURS: i64 = 24;

/// A household's approved WhatsApp template for the briefing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BriefingTemplate {
    /// The template's name as approved by Meta, e.g. `morning_briefing`.
    pub name: String,
    /// Its language code, e.g. `en_US`.
    pub language: String,
    /// What fills its body parameters `{{1}}`, `{{2}}`, … in order.
    pub parameters: Vec<TemplateField>,
}

impl BriefingTemplate {
    /// A template whose parameters are every field, in [`TemplateField::ALL`] order.
    pub fn new(name: impl Into<String>, language: impl Into<String>) -> Self {
        BriefingTemplate {
            name: name.into(),
            language: language.into(),
            parameters: TemplateField::ALL.to_vec(),
        }
    }
}

/// The message the briefing goes out as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// Free text, rendered from [`render::TEXT_TEMPLATE`].
    Text(String),
    /// An approved template with its parameter values.
    Template {
        name: String,
        language: String,
        parameters: Vec<String>,
    },
}

/// Whether free text may be sent at `now` when a person last wrote at `last_from_person`:
/// less than [`SERVICE_WINDOW_HOURS`] ago (a message "from the future" of a clock set back
/// counts as just now).
pub fn within_service_window(last_from_person: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_from_person.is_some_and(|at| now - at < Duration::hours(SERVICE_WINDOW_HOURS))
}

/// The message for `briefing` in a conversation on `platform`: the template outside
/// WhatsApp's service window when one is configured, free text otherwise.
///
/// Outside the window with no template configured, free text is still sent: WhatsApp will
/// refuse it, and the refusal is dead-lettered with Meta's reason where operators see it,
/// which is better than a briefing silently never attempted.
pub fn outbound(
    briefing: &Briefing,
    platform: Platform,
    within_window: bool,
    template: Option<&BriefingTemplate>,
) -> Outbound {
    if platform != Platform::WhatsApp || within_window {
        return Outbound::Text(render::text(briefing));
    }
    match template {
        Some(template) => Outbound::Template {
            name: template.name.clone(),
            language: template.language.clone(),
            parameters: template
                .parameters
                .iter()
                .map(|field| render::parameter(briefing, *field))
                .collect(),
        },
        None => {
            tracing::warn!(
                "The briefing is due outside WhatsApp's 24-hour window and the household has no briefing template; sending free text, which WhatsApp will likely refuse."
            );
            Outbound::Text(render::text(briefing))
        }
    }
}
