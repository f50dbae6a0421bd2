//! Shared checks for free text typed into forms: trimming, length in characters, and refusal of
//! characters a person cannot see.

/// Whether `c` must never appear in a stored text: C0/C1 control characters (NUL, tab, line
/// breaks, …), zero-width characters and byte-order marks (U+200B–U+200F, U+2060, U+FEFF),
/// and bidirectional overrides/isolates (U+202A–U+202E, U+2066–U+2069), which can make a
/// printed name read differently from what is stored.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// What is wrong with a free text, before any field-specific rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextProblem {
    Empty,
    Forbidden,
    TooShort,
    TooLong,
}

/// Trims surrounding whitespace (including the ideographic space U+3000), then checks that the
/// rest holds no forbidden character and has `min..=max` characters. Returns the trimmed text.
pub(crate) fn plain(input: &str, min: usize, max: usize) -> Result<&str, TextProblem> {
    let s = input.trim();
    if s.is_empty() {
        return Err(TextProblem::Empty);
    }
    if s.chars().any(is_forbidden_char) {
        return Err(TextProblem::Forbidden);
    }
    let n = s.chars().count();
    if n < min {
        return Err(TextProblem::TooShort);
    }
    if n > max {
        return Err(TextProblem::TooLong);
    }
    Ok(s)
}

/// `TryFrom<String>` through `parse` and `From<T> for String`, so a type (de)serialises as its
/// string and cannot be deserialised invalid.
macro_rules! string_conversions {
    ($t:ident, $e:ident) => {
        impl TryFrom<String> for $t {
            type Error = $e;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> Self {
                v.0
            }
        }
    };
}
pub(crate) use string_conversions;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_counts_chars_and_refuses_invisible_ones() {
        assert_eq!(plain("  深圳市  ", 2, 3), Ok("深圳市"));
        assert_eq!(plain("\u{3000}深圳\u{3000}", 2, 3), Ok("深圳"));
        assert_eq!(plain("   ", 1, 3), Err(TextProblem::Empty));
        assert_eq!(plain("深", 2, 3), Err(TextProblem::TooShort));
        assert_eq!(plain("深圳市南山", 2, 3), Err(TextProblem::TooLong));
        for bad in [
            "深\0圳",
            "深\n圳",
            "深\t圳",
            "深\u{200B}圳",
            "深\u{202E}圳",
            "深\u{7F}圳",
            "深\u{85}圳",
        ] {
            assert_eq!(plain(bad, 1, 10), Err(TextProblem::Forbidden), "{bad:?}");
        }
    }
}
