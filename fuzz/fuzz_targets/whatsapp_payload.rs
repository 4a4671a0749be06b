//! Meta's webhook body (`parse_notification`), as the webhook sees it after the signature check.
//!
//! Properties beyond "does not panic":
//! * every envelope is a WhatsApp one addressed to our phone number id;
//! * every envelope survives the ingest stream's encoding: serialised to JSON as the webhook
//!   stores it and read back as the stream reader does, it is the same envelope.
#![no_main]

use alfred_actors::messages::{InboundEnvelope, Platform};
use alfred_adapters::whatsapp::parse_notification;
use libfuzzer_sys::fuzz_target;

/// The phone number id of the seeds (testkit's).
const PHONE_ID: &str = "106540352242922";

fuzz_target!(|body: &[u8]| {
    let Ok(envelopes) = parse_notification(body, PHONE_ID, Some("00-trace-span-01")) else {
        return;
    };
    for envelope in envelopes {
        assert_eq!(envelope.platform, Platform::WhatsApp);
        assert_eq!(envelope.account, PHONE_ID);
        let encoded = serde_json::to_string(&envelope).expect("an envelope encodes");
        let decoded: InboundEnvelope =
            serde_json::from_str(&encoded).expect("an encoded envelope decodes");
        assert_eq!(
            decoded, envelope,
            "the stream's encoding changed the envelope"
        );
    }
});
