//! The SM2 signing nonce k, hedged: derived from the private key and the message as in
//! RFC 6979 §3.2 (HMAC_DRBG), with fresh random bytes as the "additional data" k' of
//! RFC 6979 §3.6. The signature stays a plain GM/T 0003.2-2012 §6.1 signature (A3 only asks
//! for k ∈ [1, n−1]); what changes is where k comes from:
//! - with a good random source, k is as unpredictable as the random bytes;
//! - with a broken one (repeated or guessable bytes), k is still a pseudo-random function of
//!   the private key and the message, so two messages never share a k and the key does not
//!   leak through the classic nonce-reuse equations.
//!
//! The DRBG is HMAC-SHA-256, through the RustCrypto `rfc6979` crate. SHA-256 rather than SM3
//! because: it is the instantiation RFC 6979 publishes test vectors for (Appendix A.2.5,
//! checked below with P-256's order), so the construction is pinned by a known answer; the
//! x86 SHA extensions make its ~30 compressions per signature cost about a microsecond,
//! where SM3 in software would cost several and slow signing measurably; and the nonce is
//! internal to the signer, invisible in the signature and to verifiers, so no GM/T interop
//! rule applies to the hash inside it. The digest e = SM3(Z_A ‖ M) that feeds it is the
//! SM2 one.

use rfc6979::consts::U32;
use rfc6979::HmacDrbg;
use sha2::Sha256;
use sm2::elliptic_curve::subtle::{Choice, ConstantTimeEq};

/// The order n of the SM2 recommended curve (GM/T 0003.5-2012 §3), big-endian.
pub const SM2_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23,
];

/// Candidates for k ∈ [1, q−1], in the order of RFC 6979 §3.2 step h: the first output, then
/// after each rejection by the caller (for SM2, r = 0, r + k = n or s = 0) the next one.
pub struct NonceSource {
    drbg: HmacDrbg<Sha256>,
    q: [u8; 32],
}

impl NonceSource {
    /// Seeds the DRBG (RFC 6979 §3.2 steps b–g) with `x` = int2octets(private key),
    /// `h1` = bits2octets(message digest), already reduced modulo `q`, and `fresh` = the
    /// additional data k' of §3.6 (empty gives plain RFC 6979).
    pub fn new(x: &[u8; 32], h1: &[u8; 32], fresh: &[u8], q: &[u8; 32]) -> Self {
        Self {
            drbg: HmacDrbg::<Sha256>::new(x, h1, fresh),
            q: *q,
        }
    }

    /// Seeds for the SM2 curve's order.
    pub fn sm2(x: &[u8; 32], e: &[u8; 32], fresh: &[u8]) -> Self {
        Self::new(x, e, fresh, &SM2_ORDER)
    }

    /// The next candidate k, big-endian, 1 ≤ k < q (RFC 6979 §3.2 step h.3: values outside
    /// the range are skipped).
    pub fn next_k(&mut self) -> [u8; 32] {
        loop {
            let mut t = rfc6979::ByteArray::<U32>::default();
            self.drbg.fill_bytes(&mut t);
            let mut k = [0u8; 32];
            k.copy_from_slice(&t);
            if bool::from(!is_zero(&k) & less_than(&k, &self.q)) {
                return k;
            }
        }
    }
}

/// Whether `a` is all zero bytes, without a data-dependent branch.
fn is_zero(a: &[u8; 32]) -> Choice {
    a.iter().fold(0u8, |acc, b| acc | b).ct_eq(&0)
}

/// Whether `a < b` as big-endian integers, in constant time (the borrow of `a − b`): an early
/// exit would tell how many leading bytes of k equal n's, the kind of partial-nonce leak
/// lattice attacks collect.
fn less_than(a: &[u8; 32], b: &[u8; 32]) -> Choice {
    let mut borrow = 0u16;
    for (x, y) in a.iter().zip(b).rev() {
        let d = u16::from(*x)
            .wrapping_sub(u16::from(*y))
            .wrapping_sub(borrow);
        borrow = d >> 15;
    }
    Choice::from(borrow as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn hex32(s: &str) -> [u8; 32] {
        let v = hex_bytes(s);
        let mut out = [0u8; 32];
        out.copy_from_slice(&v);
        out
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 6979 Appendix A.2.5 (ECDSA, 256 bits, P-256) with SHA-256: without additional
    /// data our source yields exactly the published k for "sample" and "test".
    #[test]
    fn rfc6979_a_2_5_known_answers() {
        let q = hex32("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
        let x = hex32("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
        for (msg, k) in [
            (
                "sample",
                "A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60",
            ),
            (
                "test",
                "D16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0",
            ),
        ] {
            let h1: [u8; 32] = Sha256::digest(msg.as_bytes()).into();
            assert!(
                h1 < q,
                "both digests are below q, so bits2octets is the digest"
            );
            assert_eq!(
                NonceSource::new(&x, &h1, &[], &q).next_k(),
                hex32(k),
                "{msg}"
            );
        }
    }

    #[test]
    fn constant_time_comparisons() {
        let mut a = [0u8; 32];
        assert!(bool::from(is_zero(&a)));
        assert!(bool::from(less_than(&a, &SM2_ORDER)));
        assert!(!bool::from(less_than(&SM2_ORDER, &SM2_ORDER)));
        a = SM2_ORDER;
        a[31] -= 1;
        assert!(bool::from(less_than(&a, &SM2_ORDER)) && !bool::from(is_zero(&a)));
        a[3] = 0xFF; // n = FFFFFFFE…: above n from the fourth byte on
        assert!(!bool::from(less_than(&a, &SM2_ORDER)));
    }

    #[test]
    fn fresh_bytes_change_k_and_a_stuck_source_still_varies_with_the_message() {
        let x = [7u8; 32];
        let e1 = [1u8; 32];
        let e2 = [2u8; 32];
        let k = |e: &[u8; 32], fresh: &[u8]| NonceSource::sm2(&x, e, fresh).next_k();
        assert_eq!(
            k(&e1, &[9; 32]),
            k(&e1, &[9; 32]),
            "a function of its inputs"
        );
        assert_ne!(k(&e1, &[9; 32]), k(&e1, &[8; 32]), "fresh bytes hedge");
        assert_ne!(
            k(&e1, &[0; 32]),
            k(&e2, &[0; 32]),
            "stuck RNG: k still per message"
        );
        let mut s = NonceSource::sm2(&x, &e1, &[]);
        let (a, b) = (s.next_k(), s.next_k());
        assert_ne!(a, b, "a rejected candidate is followed by a new one");
        assert!(a < SM2_ORDER && b < SM2_ORDER);
    }
}
