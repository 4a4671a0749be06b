//! Which household a conversation belongs to, and whether a group message is for Alfred.
//!
//! Households come from configuration (`HOUSEHOLDS_FILE`); the composition root turns them into
//! a [`HouseholdDirectory`]. A conversation no household claims is its own household, in the
//! default time zone, so Alfred works without any configuration.

use std::collections::HashMap;
use std::sync::Arc;

use chrono_tz::Tz;

use crate::messages::{InboundEnvelope, Platform};

/// A configured household, as the runtime needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdInfo {
    pub id: String,
    pub timezone: Tz,
}

/// Maps conversations to households.
#[derive(Debug, Clone)]
pub struct HouseholdDirectory {
    by_conversation: HashMap<(Platform, String), Arc<HouseholdInfo>>,
    default_timezone: Tz,
    /// Whether households were configured: then only their conversations are members'.
    configured: bool,
}

impl HouseholdDirectory {
    /// A directory where every conversation is its own household.
    pub fn new(default_timezone: Tz) -> Self {
        HouseholdDirectory {
            by_conversation: HashMap::new(),
            default_timezone,
            configured: false,
        }
    }

    /// Adds a household claiming these conversations (group ids and members' direct chats).
    pub fn add(
        &mut self,
        household: HouseholdInfo,
        conversations: impl IntoIterator<Item = (Platform, String)>,
    ) {
        self.configured = true;
        let household = Arc::new(household);
        for key in conversations {
            self.by_conversation.insert(key, household.clone());
        }
    }

    /// Whether a message's conversation belongs to a household: a member's direct chat or a
    /// listed group. Without configured households every conversation is its own household,
    /// so this is always true.
    pub fn claims(&self, envelope: &InboundEnvelope) -> bool {
        !self.configured
            || self
                .by_conversation
                .contains_key(&(envelope.platform, envelope.conversation.clone()))
    }

    /// The household of a message's conversation.
    pub fn resolve(&self, envelope: &InboundEnvelope) -> HouseholdInfo {
        let key = (envelope.platform, envelope.conversation.clone());
        match self.by_conversation.get(&key) {
            Some(household) => household.as_ref().clone(),
            None => HouseholdInfo {
                id: format!("{}:{}", envelope.platform, envelope.conversation),
                timezone: self.default_timezone,
            },
        }
    }
}

/// The text addressed to Alfred in a group message, with the invoke prefix removed; `None`
/// when the message does not start with one of `prefixes` (lower-case). A prefix matches only
/// as a whole word ("alfred" matches "Alfred, list" but not "alfredo"), and the punctuation
/// after it is dropped.
pub fn addressed_text<'a>(text: &'a str, prefixes: &[String]) -> Option<&'a str> {
    let trimmed = text.trim_start();
    prefixes.iter().find_map(|prefix| {
        let head = trimmed.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        let rest = &trimmed[prefix.len()..];
        if rest.chars().next().is_some_and(char::is_alphanumeric) {
            return None;
        }
        Some(
            rest.trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ':' | ';' | '-' | '!')
            })
            .trim_end(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        vec!["@alfred".to_owned(), "alfred".to_owned()]
    }

    #[test]
    fn a_group_message_is_for_alfred_only_with_a_whole_word_prefix() {
        assert_eq!(
            addressed_text("@alfred add milk", &prefixes()),
            Some("add milk")
        );
        assert_eq!(
            addressed_text("Alfred, add milk", &prefixes()),
            Some("add milk")
        );
        assert_eq!(addressed_text("  alfred: list ", &prefixes()), Some("list"));
        assert_eq!(addressed_text("alfredo is here", &prefixes()), None);
        assert_eq!(addressed_text("add milk", &prefixes()), None);
        assert_eq!(addressed_text("ask alfred to add milk", &prefixes()), None);
    }
}
