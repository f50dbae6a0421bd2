//! SM2 signing and verification (GM/T 0003.2-2012 §6.1 and §7.1) with a precomputed table of
//! multiples of the generator G, so [k]G costs 53 complete mixed additions (signed 5-bit
//! windows) instead of a full scalar multiplication. Table lookups scan every entry of a
//! window with constant-time selection, so the secret nonce does not steer memory access. The
//! nonce is hedged ([`crate::nonce`]): RFC 6979's derivation from key and message, mixed with
//! fresh random bytes. Field and scalar arithmetic are the RustCrypto `sm2` crate's
//! (fiat-crypto); the results are checked against that crate's own verifier, the GM/T 0003.5
//! worked example, OpenSSL and gmssl in the tests.

use crate::error::{PkiError, Result};
use crate::nonce::NonceSource;
use rand::RngCore;
use sm2::elliptic_curve::group::Group as _;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm2::elliptic_curve::subtle::{ConditionallySelectable, ConstantTimeEq};
use sm2::elliptic_curve::zeroize::Zeroizing;
use sm2::elliptic_curve::PrimeField;
use sm2::{AffinePoint, FieldBytes, NonZeroScalar, ProjectivePoint, Scalar, U256};
use sm3::{Digest, Sm3};
use std::sync::OnceLock;

/// Window width of the fixed-base multiplication: 5 bits, signed digits in [−16, 16].
const W: usize = 5;
/// Entries per row: the multiples 1..=16 (2^(W−1)) of the row's base.
const H: usize = 1 << (W - 1);
/// Rows: ⌈256 / 5⌉ = 52 windows, and one for the last carry.
const ROWS: usize = 256usize.div_ceil(W) + 1;

/// `TABLE[i][j − 1] = j · 2^(5i) · G`, j = 1..=16 (53 rows, ≈ 60 KB, built once).
type Table = Vec<[AffinePoint; H]>;

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut rows = Vec::with_capacity(ROWS);
        let mut base = ProjectivePoint::GENERATOR;
        for _ in 0..ROWS {
            let mut row = [AffinePoint::IDENTITY; H];
            let mut acc = ProjectivePoint::IDENTITY;
            for entry in row.iter_mut() {
                acc += base;
                *entry = acc.to_affine();
            }
            rows.push(row);
            for _ in 0..W {
                base = base.double();
            }
        }
        rows
    })
}

/// The signed digits of `k` in base 2^5, least significant first: d_i ∈ [−16, 16] with
/// Σ d_i · 2^(5i) = k, computed without branches on `k`'s bits (a window value v, with the
/// previous carry, above 16 becomes v − 32 and carries one into the next window).
fn signed_digits(k: &Scalar) -> [i8; ROWS] {
    let bytes = k.to_repr();
    let mut limbs = [0u64; 5];
    for (i, limb) in limbs.iter_mut().take(4).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[32 - 8 * (i + 1)..32 - 8 * i]);
        *limb = u64::from_be_bytes(b);
    }
    let mut out = [0i8; ROWS];
    let mut carry = 0u32;
    for (i, digit) in out.iter_mut().enumerate() {
        let (l, o) = ((i * W) / 64, (i * W) % 64);
        let lo = limbs.get(l).copied().unwrap_or(0) >> o;
        let hi = match o {
            0 => 0,
            _ => limbs.get(l + 1).copied().unwrap_or(0) << (64 - o),
        };
        let v = ((lo | hi) & ((1u64 << W) - 1)) as u32 + carry;
        let c = ((H as u32).wrapping_sub(v) >> 31) & 1;
        *digit = (v as i32 - ((c << W) as i32)) as i8;
        carry = c;
    }
    out
}

/// [k]G in constant time with respect to `k`: 53 complete mixed additions, each operand found
/// by scanning a whole row of the table with constant-time selection and negated by a
/// conditional select, so the secret nonce steers neither branches nor memory access.
pub fn mul_generator(k: &Scalar) -> ProjectivePoint {
    let t = table();
    let digits = signed_digits(k);
    let mut acc = ProjectivePoint::IDENTITY;
    for (row, d) in t.iter().zip(digits) {
        let neg = (d as u8) >> 7;
        let abs = (d as i16).unsigned_abs() as u8;
        let mut p = AffinePoint::IDENTITY;
        for (j, entry) in row.iter().enumerate() {
            p.conditional_assign(entry, (j as u8 + 1).ct_eq(&abs));
        }
        let minus = -p;
        p.conditional_assign(&minus, neg.ct_eq(&1));
        acc += &p;
    }
    acc
}

/// GM/T 0003.5 curve parameters for Z_A.
const A: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC");
const B: [u8; 32] = hex32("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");
const GX: [u8; 32] = hex32("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7");
const GY: [u8; 32] = hex32("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nib(b[2 * i]) << 4) | nib(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nib(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GM/T 0003.2-2012 §5.5).
pub fn z_a(id: &[u8], pk: &sm2::PublicKey) -> Result<[u8; 32]> {
    let bits =
        u16::try_from(id.len() * 8).map_err(|_| PkiError::Key("signer ID too long".into()))?;
    let p = pk.to_encoded_point(false);
    let mut h = Sm3::new();
    h.update(bits.to_be_bytes());
    h.update(id);
    h.update(A);
    h.update(B);
    h.update(GX);
    h.update(GY);
    h.update(&p.as_bytes()[1..]);
    Ok(h.finalize().into())
}

fn e_of(za: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sm3::new();
    h.update(za);
    h.update(msg);
    let d: FieldBytes = h.finalize();
    <Scalar as Reduce<U256>>::reduce_bytes(&d)
}

/// A private key ready to sign: d, (1 + d)⁻¹ and Z_A computed once.
pub struct FastKey {
    d: NonZeroScalar,
    d_bytes: Zeroizing<[u8; 32]>,
    inv_1pd: Scalar,
    za: [u8; 32],
    public: sm2::PublicKey,
}

impl FastKey {
    /// Prepare `secret` for signing with signer ID `id`.
    pub fn new(secret: &sm2::SecretKey, id: &[u8]) -> Result<Self> {
        let d = secret.to_nonzero_scalar();
        let inv = Option::<Scalar>::from((Scalar::ONE + *d).invert())
            .ok_or_else(|| PkiError::Key("1 + d is zero: unusable key".into()))?;
        let public = secret.public_key();
        let mut d_bytes = Zeroizing::new([0u8; 32]);
        d_bytes.copy_from_slice(&d.to_repr());
        // Warm the table so the first signature does not pay for it.
        let _ = table();
        Ok(Self {
            d,
            d_bytes,
            inv_1pd: inv,
            za: z_a(id, &public)?,
            public,
        })
    }

    /// The public key.
    pub fn public_key(&self) -> &sm2::PublicKey {
        &self.public
    }

    /// Sign `msg` (GM/T 0003.2-2012 §6.1) with a hedged nonce: 32 fresh bytes from the
    /// thread's CSPRNG (reseeded from the OS) mixed into RFC 6979's derivation from the key and
    /// e ([`crate::nonce`]), so a failing random source cannot repeat k across messages.
    pub fn sign(&self, msg: &[u8]) -> Result<sm2::dsa::Signature> {
        let mut fresh = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut fresh);
        self.sign_hedged(msg, &fresh)
    }

    /// Sign `msg` with `fresh` as the additional data of the nonce derivation: the same
    /// (key, message, fresh) always gives the same signature.
    pub fn sign_hedged(&self, msg: &[u8], fresh: &[u8]) -> Result<sm2::dsa::Signature> {
        // A1–A2: e = SM3(Z_A ‖ M) as an integer mod n.
        let e = e_of(&self.za, msg);
        let mut nonces = NonceSource::sm2(&self.d_bytes, &e.to_repr().into(), fresh);
        loop {
            // A3: k ∈ [1, n−1]; the source only yields values in range.
            let k = Option::<NonZeroScalar>::from(NonZeroScalar::from_repr(nonces.next_k().into()));
            if let Some(k) = k {
                if let Some(sig) = self.sign_with_nonce(&e, &k) {
                    return sig;
                }
            }
        }
    }

    /// Steps A4–A7 for a given e and k; `None` when r = 0, r + k = n or s = 0 (the standard's
    /// "return to A3").
    fn sign_with_nonce(
        &self,
        e: &Scalar,
        k: &NonZeroScalar,
    ) -> Option<Result<sm2::dsa::Signature>> {
        let d: Scalar = *self.d;
        // A4: (x1, y1) = [k]G.
        let p = mul_generator(k).to_affine();
        let x1 = <Scalar as Reduce<U256>>::reduce_bytes(&p.x());
        // A5: r = (e + x1) mod n.
        let r = *e + x1;
        if bool::from(r.is_zero()) || bool::from((r + **k).is_zero()) {
            return None;
        }
        // A6: s = (1 + d)⁻¹ · (k − r·d) mod n.
        let s = self.inv_1pd * (**k - r * d);
        if bool::from(s.is_zero()) {
            return None;
        }
        Some(
            sm2::dsa::Signature::from_scalars(r.to_repr(), s.to_repr())
                .map_err(|_| PkiError::Signer("signature out of range".into())),
        )
    }

    /// Test-only door: sign with a given nonce, for the GM/T 0003.5 known answer.
    #[cfg(test)]
    fn sign_with_k(&self, msg: &[u8], k: &NonZeroScalar) -> Option<sm2::dsa::Signature> {
        let e = e_of(&self.za, msg);
        self.sign_with_nonce(&e, k).and_then(|r| r.ok())
    }
}

/// Width-w NAF digits of `k`, least significant first (variable time: public scalars only).
fn wnaf(k: &Scalar, w: u32) -> [i8; 258] {
    let bytes = k.to_repr();
    let mut limbs = [0u64; 5];
    for (i, limb) in limbs.iter_mut().take(4).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[32 - 8 * (i + 1)..32 - 8 * i]);
        *limb = u64::from_be_bytes(b);
    }
    let mut out = [0i8; 258];
    let mut i = 0;
    let full = 1i64 << w;
    let half = 1i64 << (w - 1);
    while limbs.iter().any(|l| *l != 0) && i < out.len() {
        if limbs[0] & 1 == 1 {
            let m = (limbs[0] & (full as u64 - 1)) as i64;
            let d = if m >= half { m - full } else { m };
            out[i] = d as i8;
            if d > 0 {
                let (v, mut borrow) = limbs[0].overflowing_sub(d as u64);
                limbs[0] = v;
                let mut j = 1;
                while borrow && j < 5 {
                    let (v, b) = limbs[j].overflowing_sub(1);
                    limbs[j] = v;
                    borrow = b;
                    j += 1;
                }
            } else {
                let (v, mut carry) = limbs[0].overflowing_add((-d) as u64);
                limbs[0] = v;
                let mut j = 1;
                while carry && j < 5 {
                    let (v, c) = limbs[j].overflowing_add(1);
                    limbs[j] = v;
                    carry = c;
                    j += 1;
                }
            }
        }
        for j in 0..5 {
            limbs[j] = (limbs[j] >> 1) | if j < 4 { limbs[j + 1] << 63 } else { 0 };
        }
        i += 1;
    }
    out
}

/// Odd multiples G, 3G, …, 127G (affine), for the verification's [s]G.
fn g_odd() -> &'static [AffinePoint; 64] {
    static T: OnceLock<[AffinePoint; 64]> = OnceLock::new();
    T.get_or_init(|| {
        let mut out = [AffinePoint::IDENTITY; 64];
        let g = ProjectivePoint::GENERATOR;
        let g2 = g.double();
        let mut acc = g;
        for entry in out.iter_mut() {
            *entry = acc.to_affine();
            acc += g2;
        }
        out
    })
}

/// [s]G + [t]P with interleaved wNAF (Shamir's trick): one chain of doublings for both.
/// Variable time: only for verification, where every input is public.
pub fn double_mul_vartime(s: &Scalar, p: &sm2::PublicKey, t: &Scalar) -> ProjectivePoint {
    let ds = wnaf(s, 8);
    let dt = wnaf(t, 5);
    let pp = p.to_projective();
    let p2 = pp.double();
    let mut tp = [pp; 8];
    for i in 1..8 {
        tp[i] = tp[i - 1] + p2;
    }
    let tg = g_odd();
    let top = (0..ds.len()).rev().find(|&i| ds[i] != 0 || dt[i] != 0);
    let mut acc = ProjectivePoint::IDENTITY;
    if let Some(top) = top {
        for i in (0..=top).rev() {
            acc = acc.double();
            let a = ds[i];
            if a > 0 {
                acc += &tg[(a as usize) / 2];
            } else if a < 0 {
                acc += &(-tg[((-a) as usize) / 2]);
            }
            let b = dt[i];
            if b > 0 {
                acc += tp[(b as usize) / 2];
            } else if b < 0 {
                acc -= tp[((-b) as usize) / 2];
            }
        }
    }
    acc
}

/// Verify (GM/T 0003.2-2012 §7.1): t = r + s, (x1, y1) = [s]G + [t]P_A, accept iff e + x1 = r.
pub fn verify(pk: &sm2::PublicKey, id: &[u8], msg: &[u8], sig: &sm2::dsa::Signature) -> Result<()> {
    let (r, s) = (*sig.r(), *sig.s());
    let t = r + s;
    if bool::from(t.is_zero()) {
        return Err(PkiError::BadSignature("r + s = 0".into()));
    }
    let e = e_of(&z_a(id, pk)?, msg);
    let p = double_mul_vartime(&s, pk, &t).to_affine();
    if bool::from(p.is_identity()) {
        return Err(PkiError::BadSignature("point at infinity".into()));
    }
    let x1 = <Scalar as Reduce<U256>>::reduce_bytes(&p.x());
    if (e + x1) == r {
        Ok(())
    } else {
        Err(PkiError::BadSignature("SM3withSM2 check failed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm2::dsa::signature::{Signer as _, Verifier as _};
    use sm2::elliptic_curve::Field;

    #[test]
    fn table_multiplication_matches_generic() {
        for _ in 0..20 {
            let k = Scalar::random(&mut rand::rngs::OsRng);
            assert_eq!(
                mul_generator(&k).to_affine(),
                (ProjectivePoint::GENERATOR * k).to_affine()
            );
        }
        assert_eq!(
            mul_generator(&Scalar::ZERO).to_affine(),
            AffinePoint::IDENTITY
        );
        assert_eq!(
            mul_generator(&-Scalar::ONE).to_affine(),
            (-ProjectivePoint::GENERATOR).to_affine()
        );
        // Windows at the recoding's edges (16, 17, 31, carries running through every window)
        // and the top of the range.
        let mut edge: Vec<Scalar> = [1u64, 15, 16, 17, 31, 32, 33, 16 * 33, 0x8421_0842_1084_2108]
            .iter()
            .map(|v| Scalar::from(*v))
            .collect();
        for byte in [0x10u8, 0x84, 0x42, 0x21, 0xF0, 0x0F, 0x7F] {
            let mut repr = [byte; 32];
            repr[0] &= 0x7F;
            edge.push(Option::<Scalar>::from(Scalar::from_repr(repr.into())).unwrap());
        }
        edge.extend([
            -Scalar::from(2u64),
            -Scalar::from(16u64),
            -Scalar::from(17u64),
        ]);
        for k in edge {
            assert_eq!(
                mul_generator(&k).to_affine(),
                (ProjectivePoint::GENERATOR * k).to_affine(),
                "{k:?}"
            );
            let digits = signed_digits(&k);
            assert!(digits.iter().all(|d| (-16..=16).contains(d)));
        }
    }

    #[test]
    fn double_mul_matches_generic() {
        let pk = sm2::SecretKey::random(&mut rand::rngs::OsRng).public_key();
        for _ in 0..30 {
            let s = Scalar::random(&mut rand::rngs::OsRng);
            let t = Scalar::random(&mut rand::rngs::OsRng);
            let want = (ProjectivePoint::GENERATOR * s + pk.to_projective() * t).to_affine();
            assert_eq!(double_mul_vartime(&s, &pk, &t).to_affine(), want);
        }
        for (s, t) in [
            (Scalar::ZERO, Scalar::ONE),
            (-Scalar::ONE, -Scalar::ONE),
            (Scalar::ONE, Scalar::ZERO),
        ] {
            let want = (ProjectivePoint::GENERATOR * s + pk.to_projective() * t).to_affine();
            assert_eq!(double_mul_vartime(&s, &pk, &t).to_affine(), want);
        }
    }

    fn hex32(s: &str) -> [u8; 32] {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// The worked example of GM/T 0003.5-2012 Appendix A (digital signature on the
    /// recommended curve): ID_A = "1234567812345678", M = "message digest", the standard's
    /// d_A and k give its (r, s), and its signature verifies.
    #[test]
    fn gmt_0003_5_signature_example() {
        let d = hex32("3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8");
        let xa = hex32("09F9DF31 1E5421A1 50DD7D16 1E4BC5C6 72179FAD 1833FC07 6BB08FF3 56F35020");
        let ya = hex32("CCEA490C E26775A5 2DC6EA71 8CC1AA60 0AED05FB F35E084A 6632F607 2DA9AD13");
        let e_std =
            hex32("F0B43E94 BA45ACCA ACE692ED 534382EB 17E6AB5A 19CE7B31 F4486FDF C0D28640");
        let k = hex32("59276E27 D506861A 16680F3A D9C02DCC EF3CC1FA 3CDBE4CE 6D54B80D EAC1BC21");
        let r = hex32("F5A03B06 48D2C463 0EEAC513 E1BB81A1 5944DA38 27D5B741 43AC7EAC EEE720B3");
        let s = hex32("B1B6AA29 DF212FD8 763182BC 0D421CA1 BB9038FD 1F7F42D4 840B69C4 85BBC1AA");
        let id = b"1234567812345678";
        let msg = b"message digest";

        let sk = sm2::SecretKey::from_bytes(&d.into()).unwrap();
        let point = sk.public_key().to_encoded_point(false);
        assert_eq!(point.x().unwrap().as_slice(), &xa[..], "P_A = [d_A]G, x");
        assert_eq!(point.y().unwrap().as_slice(), &ya[..], "P_A = [d_A]G, y");
        let key = FastKey::new(&sk, id).unwrap();
        assert_eq!(
            e_of(&key.za, msg).to_repr().as_slice(),
            &e_std[..],
            "e = SM3(Z_A ‖ M)"
        );

        let k = Option::<NonZeroScalar>::from(NonZeroScalar::from_repr(k.into())).unwrap();
        let sig = key.sign_with_k(msg, &k).unwrap();
        assert_eq!(sig.r_bytes().as_slice(), &r[..], "r");
        assert_eq!(sig.s_bytes().as_slice(), &s[..], "s");

        let standard = sm2::dsa::Signature::from_scalars(r, s).unwrap();
        verify(&sk.public_key(), id, msg, &standard).unwrap();
        sm2::dsa::VerifyingKey::new("1234567812345678", sk.public_key())
            .unwrap()
            .verify(msg, &standard)
            .unwrap();
        assert!(verify(&sk.public_key(), id, b"message digesT", &standard).is_err());

        // The production path (hedged nonce) signs the same message with another k.
        let hedged = key.sign(msg).unwrap();
        assert_ne!(hedged.r_bytes(), standard.r_bytes());
        verify(&sk.public_key(), id, msg, &hedged).unwrap();
    }

    #[test]
    fn hedged_signatures_are_a_function_of_key_message_and_fresh_bytes() {
        let sk = sm2::SecretKey::random(&mut rand::rngs::OsRng);
        let key = FastKey::new(&sk, b"1234567812345678").unwrap();
        let a = key.sign_hedged(b"one", &[0; 32]).unwrap();
        assert_eq!(a, key.sign_hedged(b"one", &[0; 32]).unwrap());
        // A stuck random source: two messages still get two different nonces (different r
        // after removing e: r − e = x1 of [k]G).
        let b = key.sign_hedged(b"two", &[0; 32]).unwrap();
        let x1 = |sig: &sm2::dsa::Signature, m: &[u8]| *sig.r() - e_of(&key.za, m);
        assert_ne!(x1(&a, b"one"), x1(&b, b"two"));
        assert_ne!(a, key.sign_hedged(b"one", &[1; 32]).unwrap());
        for sig in [a, b] {
            assert!(
                verify(&sk.public_key(), b"1234567812345678", b"one", &sig).is_ok()
                    || verify(&sk.public_key(), b"1234567812345678", b"two", &sig).is_ok()
            );
        }
    }

    #[test]
    fn interoperates_with_the_sm2_crate() {
        let id = "1234567812345678";
        let sk = sm2::SecretKey::random(&mut rand::rngs::OsRng);
        let fast = FastKey::new(&sk, id.as_bytes()).unwrap();
        let vk = sm2::dsa::VerifyingKey::new(id, sk.public_key()).unwrap();
        let sig = fast.sign(b"message").unwrap();
        vk.verify(b"message", &sig).unwrap();
        assert!(vk.verify(b"messagf", &sig).is_err());
        let theirs: sm2::dsa::Signature = sm2::dsa::SigningKey::new(id, &sk).unwrap().sign(b"abc");
        verify(&sk.public_key(), id.as_bytes(), b"abc", &theirs).unwrap();
        assert!(verify(&sk.public_key(), id.as_bytes(), b"abd", &theirs).is_err());
        assert!(verify(
            &sm2::SecretKey::random(&mut rand::rngs::OsRng).public_key(),
            id.as_bytes(),
            b"abc",
            &theirs
        )
        .is_err());
    }
}
