//! What network cameras share: credentials taken out of a URL (and hidden in every message,
//! see [`crate::redact`]), and the timeouts a network source is opened with.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use percent_encoding::percent_decode_str;

/// Timeouts and transport of network sources ([`crate::Source::open_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkOptions {
    /// Connecting (TCP, and the RTSP/HTTP exchange before the first frame).
    pub connect_timeout: Duration,
    /// A stream with no frame for this long is stalled: the read fails with
    /// [`crate::SourceError::Timeout`] (and a [`crate::LiveSource`] reconnects).
    pub stall_timeout: Duration,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            connect_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(5),
        }
    }
}

/// A URL split for a network source: the URL without credentials, and the credentials
/// (percent-decoded).
#[derive(Clone)]
pub struct CameraUrl {
    /// Without user and password.
    pub url: url::Url,
    pub credentials: Option<(String, String)>,
    /// The original text with the password hidden, for messages.
    pub shown: String,
}

impl std::fmt::Debug for CameraUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl CameraUrl {
    /// Parses `uri`; the error names it (password hidden) and what was expected.
    pub fn parse(uri: &str, kind: &'static str) -> Result<CameraUrl, crate::SourceError> {
        let shown = crate::redact(uri.trim());
        let bad = |expected: String| crate::SourceError::BadParameter {
            source_kind: kind,
            parameter: shown.clone(),
            expected,
        };
        let mut url = url::Url::parse(uri.trim()).map_err(|e| {
            bad(format!(
                "a URL such as scheme://user:password@host:port/path ({e})"
            ))
        })?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("a URL with a host".into()));
        }
        // `%XX` escapes decoded (an escape that is not two hex digits is kept as written); a
        // `+` stays a `+`: user info is not form data.
        let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
        let credentials = (!url.username().is_empty() || url.password().is_some())
            .then(|| (decode(url.username()), decode(url.password().unwrap_or(""))));
        // Neither can fail on a URL with a host (checked above).
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(CameraUrl {
            url,
            credentials,
            shown,
        })
    }

    /// `host:port`, the port defaulted for the scheme.
    pub fn address(&self, default_port: u16) -> String {
        let host = self.url.host_str().unwrap_or("");
        let port = self.url.port().unwrap_or(default_port);
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }
}

/// The `Authorization` header's value for HTTP Basic authentication (RFC 7617): `Basic `
/// and `user:password` in standard base64 with padding (RFC 4648, section 4).
pub fn basic_authorization(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_out_of_the_url_decoded() {
        let u = CameraUrl::parse("rtsp://a+b:p+%40ss%zz@192.0.2.1/x", "rtsp").unwrap();
        assert_eq!(u.credentials, Some(("a+b".into(), "p+@ss%zz".into())));
        let u = CameraUrl::parse("rtsp://admin:p%40ss@192.0.2.1/live", "rtsp").unwrap();
        assert_eq!(u.url.as_str(), "rtsp://192.0.2.1/live");
        assert_eq!(u.credentials, Some(("admin".into(), "p@ss".into())));
        assert_eq!(u.shown, "rtsp://admin:***@192.0.2.1/live");
        assert_eq!(u.address(554), "192.0.2.1:554");
        let err = CameraUrl::parse("rtsp://admin:secret@", "rtsp").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn basic_authorization_is_standard_base64_with_padding() {
        // RFC 7617's example.
        assert_eq!(
            basic_authorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        // RFC 4648's padding: `user:password` of 4, 2 and 3 bytes.
        assert_eq!(basic_authorization("foo", ""), "Basic Zm9vOg==");
        assert_eq!(basic_authorization("f", ""), "Basic Zjo=");
        assert_eq!(basic_authorization("fo", ""), "Basic Zm86");
        // The standard alphabet's last two letters, `+` and `/` (not URL-safe `-` and `_`).
        assert_eq!(basic_authorization("a", ">?"), "Basic YTo+Pw==");
        assert_eq!(basic_authorization("u", "?>?"), "Basic dTo/Pj8=");
        // The password's UTF-8 bytes.
        assert_eq!(
            basic_authorization("user", "päss"),
            "Basic dXNlcjpww6Rzcw=="
        );
    }
}
