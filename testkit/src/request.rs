//! Skill requests as the orchestrator builds them, for tests that hand a skill a message.
//!
//! [`skill_request`] starts from a direct text message on WhatsApp in household `home` (UTC),
//! from `447700900001` in their own chat, at 2026-11-25 09:00 UTC with a unique message id; a
//! test sets what its scenario is about and leaves the rest.

use alfred_actors::messages::{InboundEnvelope, InboundKind, Platform, Sender};
use alfred_actors::skill::SkillRequest;
use chrono::{DateTime, TimeZone, Utc};

/// A [`SkillRequest`] under construction; [`SkillRequestBuilder::build`] makes it.
#[derive(Debug, Clone)]
pub struct SkillRequestBuilder {
    text: String,
    household: String,
    timezone: chrono_tz::Tz,
    platform: Platform,
    account: String,
    conversation: Option<String>,
    sender: Sender,
    message_id: Option<String>,
    now: DateTime<Utc>,
    is_group: bool,
    job: Option<(String, String)>,
}

/// A request whose message is `text` (see the module's defaults).
pub fn skill_request(text: &str) -> SkillRequestBuilder {
    SkillRequestBuilder {
        text: text.to_owned(),
        household: "home".to_owned(),
        timezone: chrono_tz::Tz::UTC,
        platform: Platform::WhatsApp,
        account: "phone-1".to_owned(),
        conversation: None,
        sender: Sender {
            id: "447700900001".to_owned(),
            name: None,
        },
        message_id: None,
        now: Utc
            .with_ymd_and_hms(2026, 11, 25, 9, 0, 0)
            .single()
            .expect("a valid instant"),
        is_group: false,
        job: None,
    }
}

impl SkillRequestBuilder {
    /// The household (shared state scope).
    pub fn household(mut self, household: &str) -> Self {
        self.household = household.to_owned();
        self
    }

    /// The household's time zone.
    pub fn timezone(mut self, timezone: chrono_tz::Tz) -> Self {
        self.timezone = timezone;
        self
    }

    /// The platform and the account (phone number id, Slack team) it came in on.
    pub fn on(mut self, platform: Platform, account: &str) -> Self {
        self.platform = platform;
        self.account = account.to_owned();
        self
    }

    /// The sender's id and display name (if the platform gave one).
    pub fn from(mut self, id: &str, name: Option<&str>) -> Self {
        self.sender = Sender {
            id: id.to_owned(),
            name: name.map(str::to_owned),
        };
        self
    }

    /// The conversation; by default the sender's id (a direct chat).
    pub fn conversation(mut self, conversation: &str) -> Self {
        self.conversation = Some(conversation.to_owned());
        self
    }

    /// A group conversation (not private) rather than a direct one.
    pub fn in_group(mut self, is_group: bool) -> Self {
        self.is_group = is_group;
        self
    }

    /// The platform's message id; by default a unique one.
    pub fn message_id(mut self, message_id: &str) -> Self {
        self.message_id = Some(message_id.to_owned());
        self
    }

    /// When the message is handled; also the message's platform timestamp.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// A scheduled job run `(job, run_key)` rather than a message.
    pub fn job(mut self, job: Option<(String, String)>) -> Self {
        self.job = job;
        self
    }

    /// The request.
    pub fn build(self) -> SkillRequest {
        let message_id = self
            .message_id
            .unwrap_or_else(|| format!("msg.{}", uuid::Uuid::new_v4().simple()));
        let conversation = self.conversation.unwrap_or_else(|| self.sender.id.clone());
        SkillRequest {
            household: self.household,
            timezone: self.timezone,
            sender: self.sender.clone(),
            text: self.text.clone(),
            job: self.job,
            now: self.now,
            envelope: InboundEnvelope {
                platform: self.platform,
                message_id,
                account: self.account,
                conversation,
                is_group: self.is_group,
                private: !self.is_group,
                thread: None,
                sender: self.sender,
                timestamp: self.now.timestamp(),
                kind: InboundKind::Text { body: self.text },
                traceparent: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use alfred_actors::messages::{InboundKind, Platform};

    use super::skill_request;

    #[test]
    fn a_request_is_a_direct_whatsapp_message_unless_told_otherwise() {
        let request = skill_request("add milk").build();

        assert_eq!(request.household, "home");
        assert_eq!(request.envelope.platform, Platform::WhatsApp);
        assert_eq!(request.envelope.conversation, request.sender.id);
        assert!(request.envelope.private && !request.envelope.is_group);
        assert_eq!(request.envelope.timestamp, request.now.timestamp());
        assert_eq!(
            request.envelope.kind,
            InboundKind::Text {
                body: "add milk".to_owned()
            }
        );
        assert_ne!(
            request.envelope.message_id,
            skill_request("add milk").build().envelope.message_id,
            "each request has its own message id"
        );
    }

    #[test]
    fn what_a_test_sets_is_what_the_request_says() {
        let request = skill_request("inbox")
            .household("biz")
            .on(Platform::Slack, "T0001")
            .from("U024BE7LH", Some("Robin"))
            .conversation("C1")
            .in_group(true)
            .message_id("T0001:Ev1")
            .build();

        assert_eq!(request.household, "biz");
        assert_eq!(
            (request.envelope.platform, request.envelope.account.as_str()),
            (Platform::Slack, "T0001")
        );
        assert_eq!(request.sender.name.as_deref(), Some("Robin"));
        assert_eq!(request.envelope.sender, request.sender);
        assert_eq!(request.envelope.conversation, "C1");
        assert!(request.envelope.is_group && !request.envelope.private);
        assert_eq!(request.envelope.message_id, "T0001:Ev1");
    }
}
