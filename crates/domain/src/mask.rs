//! Masking of personal data for screens that do not need the whole value.

/// Keeps `keep_start` leading and `keep_end` trailing characters and replaces the rest with `*`.
/// Values too short to hide anything are fully masked.
pub fn mask_middle(value: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= keep_start + keep_end {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..keep_start].iter().collect();
    out.extend(std::iter::repeat_n(
        '*',
        chars.len() - keep_start - keep_end,
    ));
    out.extend(&chars[chars.len() - keep_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::mask_middle;

    #[test]
    fn masks_the_middle() {
        assert_eq!(
            mask_middle("11010519491231002X", 4, 4),
            "1101**********002X"
        );
        assert_eq!(mask_middle("张三", 1, 0), "张*");
        assert_eq!(mask_middle("abc", 2, 2), "***");
    }
}
