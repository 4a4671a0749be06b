//! The outbound allowlist: the only hosts an instance's HTTP clients may reach.
//!
//! Home reaches the Graph API; Biz reaches Slack (the Web API and `hooks.slack.com` for
//! `response_url` replies) and the Graph API when its WhatsApp number is configured; either
//! reaches its LLM and its OTLP collector when configured; with voice notes on
//! (`TRANSCRIBE_URL`), also the transcription server and Meta's media host
//! (`lookaside.fbsbx.com`, where the Graph API's media URLs point). Clients check every request's URL
//! before sending ([`Allowlist::check`]); a request to any other host fails loudly: an error
//! naming the host, logged at ERROR. This module knows hosts, not platforms' payloads.

use std::collections::BTreeSet;

use actix_web::http::Uri;
use alfred_config::{Instance, LlmProvider, Settings};

/// The host Slack's `response_url`s point at.
pub const SLACK_HOOKS_HOST: &str = "hooks.slack.com";

/// The host Meta's media URLs point at (`https://lookaside.fbsbx.com/whatsapp_business/…`):
/// allowed with voice notes on, which download from it.
pub const MEDIA_HOST: &str = "lookaside.fbsbx.com";

/// A request to a host outside the allowlist (or to a URL without a host).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbound request to {host} refused: not in this instance's allowlist ({allowed})")]
pub struct OutboundDenied {
    /// The refused host, as written in the URL (never the path or query, which may carry ids).
    pub host: String,
    /// The allowed hosts, comma-separated, for the operator.
    pub allowed: String,
}

/// The hosts outbound requests may go to, compared case-insensitively and without port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    hosts: BTreeSet<String>,
}

impl Allowlist {
    /// An allowlist of exactly these hosts.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(hosts: I) -> Self {
        Allowlist {
            hosts: hosts
                .into_iter()
                .map(|h| h.as_ref().trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// The allowlist of an instance, from its settings (see the module documentation).
    pub fn for_settings(settings: &Settings) -> Self {
        let mut urls: Vec<&str> = Vec::new();
        if let Some(whatsapp) = &settings.whatsapp {
            urls.push(&whatsapp.graph_api_url);
        }
        let mut list = Allowlist::default();
        if settings.instance == Instance::Biz {
            if let Some(slack) = &settings.slack {
                urls.push(&slack.api_url);
                list.hosts.insert(SLACK_HOOKS_HOST.to_owned());
            }
        }
        if let Some(llm) = &settings.llm {
            match &llm.provider {
                LlmProvider::Ollama { url } => urls.push(url),
                LlmProvider::OpenAi { base_url, .. } => urls.push(base_url),
            }
        }
        if let Some(otlp) = &settings.otlp_endpoint {
            urls.push(otlp);
        }
        if let (Some(transcribe), Some(_)) = (&settings.transcribe, &settings.whatsapp) {
            urls.push(&transcribe.base_url);
            list.hosts.insert(MEDIA_HOST.to_owned());
        }
        list.hosts
            .extend(urls.into_iter().filter_map(|url| host_of(url).ok()));
        list
    }

    /// Adds a host (tests and fakes on other hosts).
    pub fn allow(mut self, host: &str) -> Self {
        self.hosts.insert(host.trim().to_ascii_lowercase());
        self
    }

    /// Whether `host` is allowed.
    pub fn allows_host(&self, host: &str) -> bool {
        self.hosts.contains(&host.to_ascii_lowercase())
    }

    /// The allowed hosts, sorted.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.iter().map(String::as_str)
    }

    /// Checks a request's URL before it is sent. A refusal is logged at ERROR here, once, so
    /// every client fails the same loud way.
    ///
    /// # Errors
    /// [`OutboundDenied`] naming the host when it is not allowed or the URL has none.
    pub fn check(&self, url: &str) -> Result<(), OutboundDenied> {
        let host = host_of(url).unwrap_or_else(|raw| raw);
        if self.allows_host(&host) {
            return Ok(());
        }
        let denied = OutboundDenied {
            host,
            allowed: self.hosts.iter().cloned().collect::<Vec<_>>().join(", "),
        };
        tracing::error!(host = %denied.host, allowed = %denied.allowed, "Outbound request refused: the host is not in this instance's allowlist.");
        Err(denied)
    }
}

/// The lower-cased host of a URL; `Err` carries what to name when there is none.
fn host_of(url: &str) -> Result<String, String> {
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|_| "(an unparsable URL)".to_owned())?;
    uri.host()
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| "(a URL without a host)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    const WHATSAPP: &[(&str, &str)] = &[
        ("META_TOKEN", "t"),
        ("PHONE_ID", "1"),
        ("VERIFY_TOKEN", "v"),
        ("APP_SECRET", "a"),
    ];

    #[test]
    fn home_reaches_only_the_graph_api() {
        let list = Allowlist::for_settings(&settings(WHATSAPP));
        assert_eq!(list.hosts().collect::<Vec<_>>(), ["graph.facebook.com"]);
        assert!(list
            .check("https://graph.facebook.com/v21.0/1/messages")
            .is_ok());
        let denied = list
            .check("https://slack.com/api/chat.postMessage")
            .unwrap_err();
        assert_eq!(denied.host, "slack.com");
        assert!(denied.to_string().contains("slack.com"), "{denied}");
    }

    #[test]
    fn biz_reaches_slack_and_its_hooks_and_the_graph_api_only_with_its_whatsapp_number() {
        let slack = [
            ("INSTANCE", "biz"),
            ("SLACK_BOT_TOKEN", "x"),
            ("SLACK_SIGNING_SECRET", "s"),
        ];
        let list = Allowlist::for_settings(&settings(&slack));
        assert!(list.check("https://slack.com/api/chat.postMessage").is_ok());
        assert!(list
            .check("https://hooks.slack.com/commands/T1/2/abc")
            .is_ok());
        assert!(list
            .check("https://graph.facebook.com/v21.0/1/messages")
            .is_err());

        let mut with_whatsapp = slack.to_vec();
        with_whatsapp.extend_from_slice(WHATSAPP);
        let list = Allowlist::for_settings(&settings(&with_whatsapp));
        assert!(list
            .check("https://graph.facebook.com/v21.0/1/messages")
            .is_ok());
    }

    #[test]
    fn the_llm_and_the_otlp_collector_are_allowed_when_configured() {
        let list = Allowlist::for_settings(&settings(&[
            ("OLLAMA_URL", "http://ollama.internal:11434"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318"),
        ]));
        assert!(list.check("http://ollama.internal:11434/api/chat").is_ok());
        assert!(list.check("http://OTEL:4318/v1/traces").is_ok());
        assert!(list.check("http://evil.example/api/chat").is_err());
    }

    #[test]
    fn voice_notes_add_the_transcription_server_and_metas_media_host() {
        let mut vars = WHATSAPP.to_vec();
        let before = Allowlist::for_settings(&settings(&vars));
        assert!(before
            .check("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
            .is_err());
        vars.push(("TRANSCRIBE_URL", "http://whisper.internal:8080/v1"));
        let list = Allowlist::for_settings(&settings(&vars));
        assert!(list
            .check("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
            .is_ok());
        assert!(list
            .check("http://whisper.internal:8080/v1/audio/transcriptions")
            .is_ok());
    }

    #[test]
    fn a_lookalike_host_or_a_url_without_a_host_is_refused() {
        let list = Allowlist::new(["slack.com"]);
        assert_eq!(
            list.check("https://slack.com.evil.example/x")
                .unwrap_err()
                .host,
            "slack.com.evil.example"
        );
        assert!(list.check("https://evil.example/?u=slack.com").is_err());
        assert!(list.check("/relative/path").is_err());
        assert!(list.check("not a url").is_err());
    }
}
