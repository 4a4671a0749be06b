//! The playground's page, rendered on the server: the conversation so far (readable without
//! JavaScript), a form to type as someone, and the script that sends and keeps the
//! conversation up to date. Every text from outside is escaped here; the script only ever sets
//! `textContent`.
//!
//! Stable hooks for browser tests: `#transcript` (an `ol`, one `li` per entry with `data-seq`
//! and the entry's kind as its class), `#from`, `#message`, `#send`, `#status`.

use std::fmt::Write as _;

use alfred_config::{Instance, Settings};

use super::feed::{Entry, Kind};

/// The page, with `entries` already in the transcript.
pub(super) fn render(settings: &Settings, entries: &[Entry]) -> String {
    let members: Vec<&str> = settings
        .households
        .iter()
        .flat_map(|h| h.members.iter())
        .filter(|m| m.whatsapp.is_some())
        .map(|m| m.name.as_str())
        .collect();
    let default_name = members.first().copied().unwrap_or("Dana");
    let example = match settings.instance {
        Instance::Home => "add milk, eggs and 2 kg apples",
        Instance::Biz => "ping",
    };
    let mut transcript = String::new();
    for entry in entries {
        transcript.push_str(&entry_html(entry));
    }
    let last_seq = entries.last().map_or(0, |e| e.seq);
    let mut options = String::new();
    for name in &members {
        let _ = write!(options, "<option value=\"{}\"></option>", escape(name));
    }
    let who = if members.is_empty() {
        "Any name will do: everyone typing here shares one list.".to_owned()
    } else {
        format!(
            "Type as a household member ({}) to use their household's list, chores and briefings; any other name gets a list of its own.",
            escape(&members.join(", "))
        )
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Alfred playground</title>
<link rel="stylesheet" href="/playground/playground.css">
<script src="/playground/playground.js" defer></script>
</head>
<body>
<header>
<h1>Alfred <span class="tag">playground</span></h1>
<p>You are talking to the real actor system of Alfred-{instance}, in memory: nothing is kept when Alfred stops. Scheduled messages — briefings, chore reminders — appear here when they are due. The same in a terminal: <code>cargo run -- chat --as {default_name}</code>.</p>
</header>
<main>
<ol id="transcript" aria-label="Conversation" aria-live="polite" data-last-seq="{last_seq}">{transcript}</ol>
</main>
<footer>
<form id="composer" autocomplete="off">
<div class="field from">
<label for="from">You are</label>
<input id="from" name="from" value="{default_name}" list="members" maxlength="40" required>
<datalist id="members">{options}</datalist>
</div>
<div class="field message">
<label for="message">Message</label>
<input id="message" name="text" placeholder="{example}" required autofocus>
</div>
<button id="send" type="submit">Send</button>
</form>
<p class="hint">{who} Say <kbd>help</kbd> to see what Alfred understands.</p>
<p id="status" role="status" aria-live="polite"></p>
<noscript><p class="hint">Sending needs JavaScript; without it this page shows the conversation so far, and <code>alfred chat</code> works in a terminal.</p></noscript>
</footer>
</body>
</html>
"#,
        instance = escape(settings.instance.as_str()),
        default_name = escape(default_name),
    )
}

/// One transcript line; the script builds the same shape for new entries.
fn entry_html(entry: &Entry) -> String {
    let class = match entry.kind {
        Kind::Message => "message",
        Kind::Reply => "reply",
        Kind::Scheduled => "scheduled",
    };
    format!(
        "<li class=\"{class}\" data-seq=\"{seq}\"><div class=\"meta\"><span class=\"who\">{from}</span> → <span class=\"to\">{to}</span> <time datetime=\"{at}\">{time}</time></div><p class=\"text\">{text}</p></li>",
        seq = entry.seq,
        from = escape(&entry.from),
        to = escape(&entry.to),
        at = entry.at.to_rfc3339(),
        time = entry.at.format("%H:%M UTC"),
        text = escape(&entry.text),
    )
}

/// Text made safe inside HTML elements and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_outside_cannot_become_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
