//! The playground of a running Alfred: whether the settings get one, the channel clients that
//! feed it, and the start-up line that says where it is.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use alfred_actors::bus::Bus;
use alfred_actors::store::Store;
use alfred_config::Settings;

use super::feed::Feed;
use crate::chat::local_clients;
use crate::runtime::{ClientFactory, Runtime};
use alfred_actors::partitions::IngestRoute;

/// The playground of a running Alfred: the feed, and what a message is handed to.
pub struct Playground {
    pub(super) feed: Feed,
    pub(super) settings: Settings,
    pub(super) bus: Arc<dyn Bus>,
    pub(super) store: Arc<dyn Store>,
    /// Where a typed message goes ([`Runtime::ingest_route`]).
    pub(super) ingest: IngestRoute,
    /// How long `POST /playground/messages` waits for the replies.
    pub(super) reply_deadline: Duration,
}

impl Playground {
    /// Whether `settings` get a playground: ephemeral mode without WhatsApp or Slack.
    pub fn wanted(settings: &Settings) -> bool {
        settings.is_ephemeral() && settings.whatsapp.is_none() && settings.slack.is_none()
    }

    /// The channel clients that put every reply into `feed` (the runtime must start with
    /// them, and with `local_chats`, for briefings to reach the page).
    pub fn clients(feed: &Feed) -> ClientFactory {
        let feed = feed.clone();
        Arc::new(move || local_clients(Rc::new(feed.client())))
    }

    /// The playground on `runtime`, whose sender writes into `feed`.
    pub fn new(feed: Feed, runtime: &Runtime) -> Playground {
        let llm_wait = runtime
            .settings
            .llm
            .as_ref()
            .map_or(Duration::ZERO, |llm| llm.timeout);
        Playground {
            feed,
            settings: runtime.settings.clone(),
            bus: runtime.bus.clone(),
            store: runtime.store.clone(),
            ingest: runtime.ingest_route(),
            reply_deadline: REPLY_DEADLINE + llm_wait,
        }
    }
}

/// How long a message's replies are waited for, beyond the LLM's own time-out: a reply in
/// memory takes milliseconds; past this the page still shows it when it comes.
const REPLY_DEADLINE: Duration = Duration::from_secs(10);

/// Says at start-up, in ephemeral mode, where a newcomer can talk to Alfred: the playground's
/// URL (`port`: where the public listener landed) and `alfred chat`.
pub fn announce(settings: &Settings, port: u16, mounted: bool) {
    if !settings.is_ephemeral() {
        return;
    }
    if mounted {
        let url = format!(
            "http://{}/",
            SocketAddr::new(browsable(settings.http_addr.ip()), port)
        );
        tracing::info!(%url, "Playground: talk to Alfred in your browser at {url} — or in another terminal with `alfred chat --as Dana` (`cargo run -- chat --as Dana`).");
    } else {
        tracing::info!("The playground is off while WhatsApp or Slack is configured: anyone reaching the page would speak as the family. Talk to Alfred in a terminal with `alfred chat`.");
    }
}

/// The address a browser on this machine uses for a listener bound to `ip`: loopback for
/// "every interface".
fn browsable(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_on_every_interface_is_browsed_on_loopback() {
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        assert_eq!(browsable(any), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let any6: IpAddr = "::".parse().unwrap();
        assert_eq!(browsable(any6), IpAddr::V6(Ipv6Addr::LOCALHOST));
        let lan: IpAddr = "192.168.1.5".parse().unwrap();
        assert_eq!(browsable(lan), lan);
    }
}
