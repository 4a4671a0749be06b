//! A `multipart/form-data` body (RFC 7578), built in memory: awc sends bytes, not forms.
//!
//! Only what the transcription request needs: text fields and one file, with names and
//! file names chosen by us (never by a sender), so they are written as they are — a name
//! holding `"`, CR or LF is refused rather than escaped. The boundary is chosen after the
//! parts are known, so that it occurs in none of them.

/// A form being built.
#[derive(Debug, Default)]
pub struct Multipart {
    parts: Vec<Part>,
}

#[derive(Debug)]
struct Part {
    /// The part's headers, each line ending in CRLF.
    headers: String,
    body: Vec<u8>,
}

/// A form that is ready to send.
#[derive(Debug)]
pub struct Form {
    /// `multipart/form-data; boundary=…`, the request's `Content-Type`.
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A field name, file name or content type that cannot be written in a header as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a multipart header value holds a quote or a line break")]
pub struct UnsafeHeader;

fn safe(value: &str) -> Result<&str, UnsafeHeader> {
    if value.contains(['"', '\r', '\n']) {
        Err(UnsafeHeader)
    } else {
        Ok(value)
    }
}

impl Multipart {
    pub fn new() -> Self {
        Multipart::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Result<Self, UnsafeHeader> {
        self.parts.push(Part {
            headers: format!(
                "Content-Disposition: form-data; name=\"{}\"\r\n",
                safe(name)?
            ),
            body: value.as_bytes().to_vec(),
        });
        Ok(self)
    }

    /// Adds a file field.
    pub fn file(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Self, UnsafeHeader> {
        self.parts.push(Part {
            headers: format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n",
                safe(name)?,
                safe(filename)?,
                safe(content_type)?
            ),
            body: bytes.to_vec(),
        });
        Ok(self)
    }

    /// The body and its content type, with a boundary found in no part.
    pub fn finish(self) -> Form {
        let mut boundary = random_boundary();
        while self.parts.iter().any(|part| {
            contains(&part.body, boundary.as_bytes()) || part.headers.contains(&boundary)
        }) {
            boundary = random_boundary();
        }
        let size = self
            .parts
            .iter()
            .map(|part| part.headers.len() + part.body.len() + boundary.len() + 8)
            .sum::<usize>()
            + boundary.len()
            + 6;
        let mut body = Vec::with_capacity(size);
        for part in &self.parts {
            body.extend_from_slice(b"--");
            body.extend_from_slice(boundary.as_bytes());
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(part.headers.as_bytes());
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&part.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"--\r\n");
        Form {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            body,
        }
    }
}

fn random_boundary() -> String {
    format!("alfred-{:032x}", rand::random::<u128>())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack.len() >= needle.len()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary_of(form: &Form) -> String {
        form.content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap()
            .to_owned()
    }

    #[test]
    fn fields_and_a_file_are_written_as_rfc_7578_parts() {
        let form = Multipart::new()
            .text("model", "whisper-1")
            .unwrap()
            .file("file", "voice.ogg", "audio/ogg", b"OggS\x00\xff")
            .unwrap()
            .finish();
        let b = boundary_of(&form);
        let mut expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"voice.ogg\"\r\n\
             Content-Type: audio/ogg\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(b"OggS\x00\xff");
        expected.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        assert_eq!(form.body, expected);
    }

    #[test]
    fn the_boundary_never_occurs_in_a_part() {
        for _ in 0..50 {
            let form = Multipart::new().text("model", "alfred-").unwrap().finish();
            let b = boundary_of(&form);
            assert!(b.len() > 20 && b.starts_with("alfred-"), "{b}");
            let occurrences = form
                .body
                .windows(b.len())
                .filter(|w| *w == b.as_bytes())
                .count();
            assert_eq!(occurrences, 2, "opening and closing delimiter only");
        }
    }

    #[test]
    fn a_header_value_with_a_quote_or_line_break_is_refused() {
        assert_eq!(
            Multipart::new().text("mo\"del", "x").unwrap_err(),
            UnsafeHeader
        );
        assert!(Multipart::new()
            .file("file", "a\r\nb.ogg", "audio/ogg", b"")
            .is_err());
    }
}
