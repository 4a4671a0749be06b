//! The piece of HTTP/1.1 framing that both the raw client and the fake Graph API read.

/// The `Content-Length` of a message head (its header lines), 0 when it has none or it does
/// not parse.
pub fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}
