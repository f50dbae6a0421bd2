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

/// What an identifier (身份证号码, 统一社会信用代码, 纳税人识别号, 银行账号, 手机号码) is made of once
/// the ways people paste it are undone: whitespace anywhere removed (spaces between groups,
/// the ideographic space U+3000, a line break at the end; other invisible characters are kept
/// so that the parser refuses them), full-width forms U+FF01–U+FF5E (what
/// a Chinese input method types: `１２３Ｘ`, `－`, `＋`) turned into their ASCII characters, and
/// ASCII letters in upper case. Each identifier's parser starts here, so the stored value is
/// this normal form whatever was typed.
pub(crate) fn identifier_chars(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
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
    fn identifiers_lose_spaces_and_full_width_forms() {
        assert_eq!(
            identifier_chars(" 1101 0519\u{3000}4912 3100 2x \n"),
            "11010519491231002X"
        );
        assert_eq!(
            identifier_chars("１１０１０５１９４９１２３１００２ｘ"),
            "11010519491231002X"
        );
        assert_eq!(
            identifier_chars("＋８６ １３８－００１３－８０００"),
            "+86138-0013-8000"
        );
        // Invisible characters other than whitespace stay, for the parser to refuse.
        assert_eq!(identifier_chars("9111\u{200B}0\0"), "9111\u{200B}0\0");
        assert_eq!(identifier_chars("　"), "");
    }

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
