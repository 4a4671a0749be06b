//! `DATABASE_URL`'s libpq conventions that tokio-postgres does not know.
//!
//! libpq (and so every Postgres host's connection string, Supabase's included) writes TLS as
//! `?sslmode=verify-full&sslrootcert=/path/ca.pem`. tokio-postgres's URL parser knows `sslmode`
//! only as `disable|prefer|require` and rejects `sslrootcert` as an unknown option, so
//! [`LibpqUrl::parse`] takes the TLS parameters out and hands back the rest of the URL for
//! tokio-postgres to parse, untouched.
//!
//! Nothing here ever repeats the URL in an error: it usually carries a password. Errors name
//! the parameter and, for `sslrootcert`, the path (a path is not a secret).

use std::path::PathBuf;

/// How much TLS a connection insists on, libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked, unless `sslrootcert` is given,
    /// which makes it [`SslMode::VerifyCa`] (libpq's rule).
    Require,
    /// TLS, the certificate chain checked against the trust anchors; the host name is not.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    /// The mode for a `sslmode=` value; `allow` is libpq's "plain first, then TLS", which
    /// gains nothing over `prefer` and is read as `prefer`.
    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// Where the certificates that may sign the server's come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// The public web PKI roots (webpki-roots); also `sslrootcert=system`.
    WebPki,
    /// Only the certificates in this PEM file (`sslrootcert=<path>`), as libpq does.
    File(PathBuf),
}

/// A `DATABASE_URL` split into its TLS parameters and the rest.
#[derive(Clone, PartialEq, Eq)]
pub struct LibpqUrl {
    /// The URL without the parameters below, for tokio-postgres.
    pub rest: String,
    /// `sslmode`; libpq's default is `prefer`.
    pub ssl_mode: SslMode,
    /// `sslrootcert`.
    pub root_cert: RootCert,
}

impl std::fmt::Debug for LibpqUrl {
    // The rest of the URL holds the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibpqUrl")
            .field("ssl_mode", &self.ssl_mode)
            .field("root_cert", &self.root_cert)
            .finish_non_exhaustive()
    }
}

/// libpq parameters that change nothing for us and are dropped: `sslsni` (SNI is always
/// sent for a host name), `sslcompression` (obsolete), `gssencmode` (we never use GSSAPI),
/// `ssl_min_protocol_version`/`ssl_max_protocol_version` (rustls offers TLS 1.2 and 1.3 only).
const IGNORED: &[&str] = &[
    "sslsni",
    "sslcompression",
    "gssencmode",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
];

/// libpq parameters for client certificates, which Alfred does not support: refused rather
/// than dropped, so nobody believes they are in use.
const UNSUPPORTED: &[&str] = &["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];

impl LibpqUrl {
    /// Splits `url`. The error says which parameter is wrong, never the URL.
    pub fn parse(url: &str) -> Result<LibpqUrl, String> {
        let url = url.trim();
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (url, None),
        };
        let mut kept = Vec::new();
        let mut ssl_mode = None;
        let mut root_cert = RootCert::WebPki;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(value)
                .ok_or_else(|| format!("the value of {key} is not valid percent-encoded UTF-8"))?;
            match key {
                "sslmode" => {
                    ssl_mode = Some(SslMode::parse(&decoded).ok_or_else(|| {
                        format!(
                            "sslmode={decoded} is not one of disable, prefer, require, verify-ca, verify-full"
                        )
                    })?);
                }
                "sslrootcert" if decoded == "system" => root_cert = RootCert::WebPki,
                "sslrootcert" if decoded.is_empty() => {
                    return Err("sslrootcert is empty: give the path of a PEM file".to_owned())
                }
                "sslrootcert" => root_cert = RootCert::File(PathBuf::from(decoded)),
                key if IGNORED.contains(&key) => {}
                key if UNSUPPORTED.contains(&key) => {
                    return Err(format!(
                        "{key} is not supported: Alfred does not present client certificates"
                    ))
                }
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut ssl_mode = ssl_mode.unwrap_or(SslMode::Prefer);
        // libpq: "if a root CA file exists, sslmode=require behaves like verify-ca".
        if ssl_mode == SslMode::Require && matches!(root_cert, RootCert::File(_)) {
            ssl_mode = SslMode::VerifyCa;
        }
        Ok(LibpqUrl {
            rest,
            ssl_mode,
            root_cert,
        })
    }
}

/// `%XX` decoding (and `+` left as is, as libpq does); `None` on a bad escape or bad UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_and_the_rest_kept() {
        let url = LibpqUrl::parse(
            "postgres://u:p@db:5432/app?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(
            url.rest,
            "postgres://u:p@db:5432/app?application_name=x&connect_timeout=3"
        );
        assert_eq!(url.ssl_mode, SslMode::VerifyFull);
        assert_eq!(url.root_cert, RootCert::File(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn the_default_is_prefer_with_the_web_roots() {
        let url = LibpqUrl::parse("postgres://u@db/app").unwrap();
        assert_eq!(url.rest, "postgres://u@db/app");
        assert_eq!(url.ssl_mode, SslMode::Prefer);
        assert_eq!(url.root_cert, RootCert::WebPki);
    }

    #[test]
    fn require_with_a_root_certificate_verifies_the_chain() {
        let url = LibpqUrl::parse("postgres://db/app?sslmode=require&sslrootcert=ca.pem").unwrap();
        assert_eq!(url.ssl_mode, SslMode::VerifyCa);
        let url = LibpqUrl::parse("postgres://db/app?sslmode=require").unwrap();
        assert_eq!(url.ssl_mode, SslMode::Require);
    }

    #[test]
    fn errors_name_the_parameter_never_the_password() {
        let error = LibpqUrl::parse("postgres://u:hunter2@db/app?sslmode=sometimes").unwrap_err();
        assert!(error.contains("sslmode=sometimes"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let error = LibpqUrl::parse("postgres://u:hunter2@db/app?sslcert=c.pem").unwrap_err();
        assert!(error.contains("sslcert"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
