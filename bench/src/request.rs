//! Signed, distinct webhook requests at almost no cost per request.
//!
//! Building a notification with `serde_json` and formatting the HTTP head for every request
//! would cost the load generator more CPU than a request costs Alfred, on the same two cores.
//! So each of a few realistic texts is rendered once into a complete HTTP request (by the
//! testkit, the same builder the tests use), and for request number `n` only fixed-width
//! digits are rewritten in place — the sender's phone number and the wamid — before the body is
//! signed again (HMAC-SHA256, hex) into the `X-Hub-Signature-256` header. Every request is a
//! distinct message with a valid signature; the body has the exact shape Meta sends.

use alfred_testkit::whatsapp::text_message;
use anyhow::Context;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Digits of the sender's number that vary (`4915` + these).
const SENDER_DIGITS: usize = 8;
/// Digits of the wamid that vary (the message number).
const WAMID_DIGITS: usize = 12;
const SIGNATURE_PREFIX: &str = "sha256=";

/// What every request shares.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host` header value.
    pub host: String,
    pub phone_id: String,
    pub secret: String,
    /// Distinct senders the messages come from (conversations).
    pub senders: u64,
    /// Makes this run's wamids distinct from earlier runs' (the inbox remembers them).
    pub run_id: u64,
}

/// One text's request, with the offsets of what changes per message.
struct Template {
    bytes: Vec<u8>,
    body_start: usize,
    sender_at: Vec<usize>,
    wamid_at: usize,
    signature_at: usize,
}

/// Renders request `n` into its own buffer; one factory per connection.
pub struct Requests {
    target: Target,
    templates: Vec<Template>,
    mac: Hmac<Sha256>,
}

/// The texts, in the proportions a family would write them: adds with and without quantities,
/// several items at once, and reading the list.
const TEXTS: [&str; 4] = [
    "add 2 kg apples",
    "add milk, eggs and bread",
    "add bananas",
    "list",
];

impl Requests {
    pub fn new(target: &Target) -> anyhow::Result<Requests> {
        let mac = Hmac::<Sha256>::new_from_slice(target.secret.as_bytes())
            .context("HMAC takes any key")?;
        let templates = TEXTS
            .iter()
            .map(|text| Template::new(target, text))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Requests {
            target: target.clone(),
            templates,
            mac,
        })
    }

    /// The wamid of message `n` (what the reply quotes).
    pub fn wamid(target: &Target, n: u64) -> String {
        format!(
            "wamid.BENCH{:016x}{:0width$}",
            target.run_id,
            n,
            width = WAMID_DIGITS
        )
    }

    /// The signed request for message `n`.
    pub fn render(&mut self, n: u64) -> &[u8] {
        let senders = self.target.senders.max(1);
        let index = (n % self.templates.len() as u64) as usize;
        let template = &mut self.templates[index];
        let sender = n % senders;
        for &at in &template.sender_at {
            write_digits(&mut template.bytes[at..at + SENDER_DIGITS], sender);
        }
        let at = template.wamid_at;
        write_digits(&mut template.bytes[at..at + WAMID_DIGITS], n);
        let mut mac = self.mac.clone();
        mac.update(&template.bytes[template.body_start..]);
        let tag = mac.finalize().into_bytes();
        let at = template.signature_at;
        write_hex(&mut template.bytes[at..at + 64], &tag);
        &template.bytes
    }
}

impl Template {
    fn new(target: &Target, text: &str) -> anyhow::Result<Template> {
        let sender = format!("4915{}", "0".repeat(SENDER_DIGITS));
        let wamid = Requests::wamid(target, 0);
        let body = text_message(&target.phone_id, &sender, "Bench", &wamid, text);
        let head = format!(
            "POST /webhook HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             {}: {SIGNATURE_PREFIX}{}\r\ncontent-length: {}\r\n\r\n",
            target.host,
            "x-hub-signature-256",
            "0".repeat(64),
            body.len()
        );
        let body_start = head.len();
        let signature_at = head
            .find(SIGNATURE_PREFIX)
            .context("signature placeholder")?
            + SIGNATURE_PREFIX.len();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        // The sender appears as `from` and in `contacts[].wa_id`; both must change together.
        let sender_at: Vec<usize> = find_all(&bytes[body_start..], format!("\"{sender}\""))
            .into_iter()
            .map(|at| body_start + at + 1 + 4)
            .collect();
        anyhow::ensure!(!sender_at.is_empty(), "sender not found in the template");
        let wamid_at = find_all(&bytes[body_start..], format!("\"{wamid}\""))
            .first()
            .map(|at| body_start + at + 1 + wamid.len() - WAMID_DIGITS)
            .context("wamid not found in the template")?;
        Ok(Template {
            bytes,
            body_start,
            sender_at,
            wamid_at,
            signature_at,
        })
    }
}

fn find_all(haystack: &[u8], needle: String) -> Vec<usize> {
    let needle = needle.as_bytes();
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(at, _)| at)
        .collect()
}

fn write_digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn write_hex(out: &mut [u8], bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_requests_are_distinct_messages_with_valid_signatures() {
        let target = Target {
            host: "127.0.0.1:8000".into(),
            phone_id: "100000000001".into(),
            secret: "s3cret".into(),
            senders: 10,
            run_id: 7,
        };
        let mut requests = Requests::new(&target).unwrap();
        for n in [0u64, 1, 13, 999_999] {
            let bytes = requests.render(n).to_vec();
            let text = String::from_utf8(bytes).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let signature = head
                .lines()
                .find_map(|line| line.strip_prefix("x-hub-signature-256: "))
                .unwrap();
            assert_eq!(
                signature,
                alfred_testkit::whatsapp::sign("s3cret", body.as_bytes())
            );
            let json: serde_json::Value = serde_json::from_str(body).unwrap();
            let value = &json["entry"][0]["changes"][0]["value"];
            assert_eq!(value["messages"][0]["id"], Requests::wamid(&target, n));
            let from = format!("4915{:08}", n % 10);
            assert_eq!(value["messages"][0]["from"], from);
            assert_eq!(value["contacts"][0]["wa_id"], from);
        }
    }
}
