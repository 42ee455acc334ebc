//! A reader for `.env` files, the way the original system was configured.
//!
//! Lines are `KEY=VALUE`, optionally prefixed with `export `; `#` starts a comment outside
//! quotes; values may be single-quoted (taken literally) or double-quoted (with `\n`, `\t`,
//! `\"` and `\\` escapes). Each entry keeps its line number so a bad value can be reported as
//! ".env line 7". Values from `.env` never override variables already set in the environment.

use std::fmt;

/// One `KEY=VALUE` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotEnvEntry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A line that is neither blank, a comment, nor `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotEnvError {
    pub line: usize,
    pub text: String,
    pub reason: &'static str,
}

impl fmt::Display for DotEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} (in `{}`)",
            self.line, self.reason, self.text
        )
    }
}

/// Parses the text of a `.env` file; every malformed line is reported, not just the first.
pub fn parse(text: &str) -> Result<Vec<DotEnvEntry>, Vec<DotEnvError>> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .unwrap_or(trimmed)
            .trim_start();
        let error = |reason| DotEnvError {
            line,
            text: trimmed.to_string(),
            reason,
        };
        let Some((key, rest)) = body.split_once('=') else {
            errors.push(error("expected KEY=VALUE"));
            continue;
        };
        let key = key.trim();
        let key_ok = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !key_ok {
            errors.push(error("a variable name has only letters, digits and '_'"));
            continue;
        }
        match parse_value(rest.trim_start()) {
            Ok(value) => entries.push(DotEnvEntry {
                key: key.to_string(),
                value,
                line,
            }),
            Err(reason) => errors.push(error(reason)),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

fn parse_value(rest: &str) -> Result<String, &'static str> {
    if let Some(inner) = rest.strip_prefix('\'') {
        let end = inner.find('\'').ok_or("unterminated single quote")?;
        check_trailing(&inner[end + 1..])?;
        return Ok(inner[..end].to_string());
    }
    if let Some(inner) = rest.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = inner.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    check_trailing(&inner[i + 1..])?;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, other)) => value.push(other),
                    None => return Err("unterminated double quote"),
                },
                other => value.push(other),
            }
        }
        return Err("unterminated double quote");
    }
    // Unquoted: a ` #` starts a comment, as in shells.
    let value = match rest.find(" #") {
        Some(at) => &rest[..at],
        None => rest,
    };
    Ok(value.trim_end().to_string())
}

fn check_trailing(after_quote: &str) -> Result<(), &'static str> {
    let after = after_quote.trim_start();
    if after.is_empty() || after.starts_with('#') {
        Ok(())
    } else {
        Err("unexpected text after the closing quote")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_quoted_exported_and_commented_lines() {
        let text = "# settings\n\nMIN_GREEN_TIME=12\nexport LOG_LEVEL = debug # chatty\n\
                    CAMERA_A_SOURCE='rtsp://u:p@cam/1 #x'\nNOTE=\"a\\\"b\\nc\" # done\nEMPTY=\n";
        let entries = parse(text).unwrap();
        let pairs: Vec<_> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("MIN_GREEN_TIME", "12", 3),
                ("LOG_LEVEL", "debug", 4),
                ("CAMERA_A_SOURCE", "rtsp://u:p@cam/1 #x", 5),
                ("NOTE", "a\"b\nc", 6),
                ("EMPTY", "", 7),
            ]
        );
    }

    #[test]
    fn reports_every_malformed_line_with_its_number() {
        let errors = parse("GOOD=1\nno equals sign\n9BAD=2\nQ=\"open\n").unwrap_err();
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4]);
        assert!(errors[2].to_string().contains("unterminated double quote"));
    }
}
