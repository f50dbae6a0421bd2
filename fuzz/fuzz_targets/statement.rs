//! Bank statements (`app::payments::statement`): the sniffing `parse` and both parsers it
//! picks from, on any bytes, must never panic. What is parsed must be importable: `parse`
//! agrees with the parser its sniffing chose, every entry has a trimmed non-empty bank
//! reference and a positive amount that prints and re-parses to itself, and the totals add
//! up (credits + debits = all entries, whenever the sum fits).
#![no_main]
use app::payments::statement::{parse, parse_camt053, parse_csv, Statement};
use domain::Money;

fn check(s: &Statement) {
    for e in &s.entries {
        assert!(!e.entry_ref.is_empty() && e.entry_ref.trim() == e.entry_ref);
        assert!(
            !e.amount.is_negative() && !e.amount.is_zero(),
            "{:?}",
            e.amount
        );
        assert_eq!(Money::parse_yuan(&e.amount.yuan_string()), Ok(e.amount));
    }
    let sum = |credit: Option<bool>| {
        Money::checked_sum(
            s.entries
                .iter()
                .filter(|e| credit.is_none_or(|c| e.credit == c))
                .map(|e| e.amount),
        )
    };
    if let (Ok(all), Ok(cr), Ok(dr)) = (sum(None), sum(Some(true)), sum(Some(false))) {
        assert_eq!(cr.checked_add(dr), Ok(all), "credits + debits != total");
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let sniffed = parse(data);
    if let Ok(s) = &sniffed {
        check(s);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let camt = parse_camt053(text);
        let csv = parse_csv(text);
        for s in [&camt, &csv].into_iter().flatten() {
            check(s);
        }
        if let Ok(s) = &camt {
            assert_eq!(s.format, "camt.053");
        }
        if let Ok(s) = &csv {
            assert_eq!(s.format, "csv");
        }
        let body = text.trim_start_matches('\u{feff}');
        let direct = if body.trim_start().starts_with('<') {
            parse_camt053(body)
        } else {
            parse_csv(body)
        };
        assert_eq!(sniffed, direct, "parse disagrees with the parser it picked");
    }
});
