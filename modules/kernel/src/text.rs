//! Checks of client text shared by every module: control characters (NUL, …)
//! and the Unicode bidirectional controls that make text display differently
//! from what it is are refused in every text field (422), on every backend.

use validator::ValidationError;

/// The bidi formatting characters (Trojan Source: CVE-2021-42574).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// True when `text` holds a character no single-line text field accepts.
pub fn has_forbidden_chars(text: &str) -> bool {
    text.chars().any(|c| c.is_control() || is_bidi_control(c))
}

/// `validator` check of a single-line text field.
pub fn plain_text(text: &str) -> Result<(), ValidationError> {
    if has_forbidden_chars(text) {
        Err(ValidationError::new("control_characters")
            .with_message("must not contain control characters".into()))
    } else {
        Ok(())
    }
}

/// `validator` check of a multi-line text field: line breaks and tabs are
/// allowed, other control characters are not.
pub fn multiline_text(text: &str) -> Result<(), ValidationError> {
    let forbidden =
        text.chars().any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_control(c));
    if forbidden {
        Err(ValidationError::new("control_characters")
            .with_message("must not contain control characters other than line breaks and tabs".into()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_nul_and_bidi_overrides_but_not_accents() {
        assert!(plain_text("Crème brûlée — 東京").is_ok());
        assert!(plain_text("a\0b").is_err());
        assert!(plain_text("abc\u{202E}fdp.exe").is_err());
        assert!(plain_text("line\nbreak").is_err());
        assert!(multiline_text("line\nbreak\tand tab").is_ok());
        assert!(multiline_text("bell\u{7}").is_err());
    }
}
