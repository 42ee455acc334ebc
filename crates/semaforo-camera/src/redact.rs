//! Hiding the password of a camera URL in every message, log line and status: the one function
//! the camera sources and the configuration's messages share.

/// Hides the password in `scheme://user:password@host/...`: the user name stays, to tell
/// cameras apart, and the password becomes `***`. Text without credentials comes back
/// unchanged, and so does anything after the host (path, query, fragment).
///
/// The user information is everything before the last `@` of the authority, so a password may
/// hold `@` and `:` as written. The authority ends at the first `/`, `?` or `#` after `://`.
/// One case is read the other way: an `@` after a `?` or `#` with no `/` before it, as in
/// `rtsp://admin:pa?ss@cam/live`, may be a password that holds `?` or `#` as written (which
/// no URL parser accepts, so the camera's error message shows it), or a query with an `@` in
/// a URL without a path (`rtsp://cam?user=a@b`). It is read as user information, as the
/// configuration's messages always read it (`rtsp://cam?user=a:***@b`): a message that
/// garbles such a query is better than one that shows a password.
///
/// ```
/// use semaforo_camera::redact;
/// assert_eq!(redact("rtsp://admin:s3cret@192.0.2.1/live"), "rtsp://admin:***@192.0.2.1/live");
/// assert_eq!(redact("rtsp://admin:p@ss:w0rd@192.0.2.1/live"), "rtsp://admin:***@192.0.2.1/live");
/// assert_eq!(redact("http://cam.local/video"), "http://cam.local/video");
/// ```
pub fn redact(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = match rest[..authority_end].rfind('@') {
        Some(at) => at,
        // No `@` in the authority: one after a `?` or `#` still counts if no `/` comes first.
        None => {
            let before_path = rest.find('/').unwrap_or(rest.len());
            match rest[..before_path].rfind('@') {
                Some(at) => at,
                None => return text.to_string(),
            }
        }
    };
    let user = rest[..at].split(':').next().unwrap_or("");
    format!("{}{user}:***@{}", &text[..scheme_end + 3], &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_everywhere_in_the_authority() {
        assert_eq!(
            redact("rtsp://u:p@h:554/a@b"),
            "rtsp://u:***@h:554/a@b",
            "an @ in the path is not credentials"
        );
        assert_eq!(redact("http://u@h/x"), "http://u:***@h/x");
        assert_eq!(redact("dir:frames"), "dir:frames");
    }

    /// The cases `config::load::redact_credentials` was tested with.
    #[test]
    fn credentials_never_appear_in_messages() {
        assert_eq!(
            redact("rtsp://admin:s3cret@10.0.0.5:554/h264"),
            "rtsp://admin:***@10.0.0.5:554/h264"
        );
        assert_eq!(redact("rtsp://cam/h264"), "rtsp://cam/h264");
        assert_eq!(
            redact("rtsp://admin:s3cret@:554/x"),
            "rtsp://admin:***@:554/x"
        );
    }

    #[test]
    fn a_password_may_hold_at_signs_and_colons() {
        assert_eq!(
            redact("rtsp://admin:p@ss@192.0.2.1/live"),
            "rtsp://admin:***@192.0.2.1/live"
        );
        assert_eq!(
            redact("rtsp://admin:a:b:c@192.0.2.1:554/live"),
            "rtsp://admin:***@192.0.2.1:554/live"
        );
        assert_eq!(
            redact("http://admin:@:x@y@cam.local?action=stream"),
            "http://admin:***@cam.local?action=stream"
        );
        assert_eq!(
            redact("rtsp://admin:p%40ss@192.0.2.1/live"),
            "rtsp://admin:***@192.0.2.1/live"
        );
        assert_eq!(redact("rtsp://:secret@h/x"), "rtsp://:***@h/x");
    }

    #[test]
    fn an_at_sign_after_the_host_is_not_credentials() {
        for text in [
            "rtsp://cam/live?user=a@b",
            "http://cam.local/snapshot#a@b",
            "rtsp://u:***@cam/a@b",
        ] {
            assert_eq!(redact(text), text);
        }
        assert_eq!(
            redact("http://admin:pw@cam.local?user=a@b"),
            "http://admin:***@cam.local?user=a@b",
            "the authority ends at the ?"
        );
        assert_eq!(
            redact("rtsp://admin:pw@cam#tag@x"),
            "rtsp://admin:***@cam#tag@x",
            "and at the #"
        );
    }

    #[test]
    fn a_password_written_with_a_question_mark_or_hash_is_hidden_too() {
        assert_eq!(
            redact("rtsp://admin:pa?ss@cam/live"),
            "rtsp://admin:***@cam/live"
        );
        assert_eq!(
            redact("rtsp://admin:pa#ss@cam:554"),
            "rtsp://admin:***@cam:554"
        );
        // Read the same way: a query with an `@` in a URL without a path, taken for a user
        // name; nothing is lost but the `@`'s place.
        assert_eq!(redact("rtsp://cam?user=a@b"), "rtsp://cam?user=a:***@b");
    }

    #[test]
    fn text_around_the_url_is_kept() {
        assert_eq!(
            redact("cannot open rtsp://admin:s3cret@cam/live: refused"),
            "cannot open rtsp://admin:***@cam/live: refused"
        );
        assert_eq!(redact(""), "");
        assert_eq!(redact("synthetic:seed=3"), "synthetic:seed=3");
    }
}
