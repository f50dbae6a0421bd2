//! SM2 signing and verification (GM/T 0003.2-2012 §6.1 and §7.1) with a precomputed table of
//! multiples of the generator G, so [k]G costs 64 complete mixed additions instead of a full
//! scalar multiplication. Table lookups scan every entry of a window with constant-time
//! selection, so the secret nonce does not steer memory access. Field and scalar arithmetic
//! are the RustCrypto `sm2` crate's (fiat-crypto); the results are checked against that
//! crate's own verifier, OpenSSL and gmssl in the tests.

use crate::error::{PkiError, Result};
use sm2::elliptic_curve::group::Group as _;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm2::elliptic_curve::subtle::{ConditionallySelectable, ConstantTimeEq};
use sm2::elliptic_curve::PrimeField;
use sm2::{AffinePoint, FieldBytes, NonZeroScalar, ProjectivePoint, Scalar, U256};
use sm3::{Digest, Sm3};
use std::sync::OnceLock;

/// 64 windows of 4 bits; `TABLE[i][j] = j · 16^i · G`.
type Table = Vec<[AffinePoint; 16]>;

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut out = Vec::with_capacity(64);
        let mut base = ProjectivePoint::GENERATOR;
        for _ in 0..64 {
            let mut row = [AffinePoint::IDENTITY; 16];
            let mut acc = ProjectivePoint::IDENTITY;
            for entry in row.iter_mut().skip(1) {
                acc += base;
                *entry = acc.to_affine();
            }
            out.push(row);
            for _ in 0..4 {
                base = base.double();
            }
        }
        out
    })
}

/// [k]G in constant time with respect to `k`.
pub fn mul_generator(k: &Scalar) -> ProjectivePoint {
    let t = table();
    let bytes = k.to_repr();
    let mut acc = ProjectivePoint::IDENTITY;
    for (i, row) in t.iter().enumerate() {
        let byte = bytes[31 - i / 2];
        let nibble = if i % 2 == 0 { byte & 0x0f } else { byte >> 4 };
        let mut p = AffinePoint::IDENTITY;
        for (j, entry) in row.iter().enumerate() {
            p.conditional_assign(entry, (j as u8).ct_eq(&nibble));
        }
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
        // Warm the table so the first signature does not pay for it.
        let _ = table();
        Ok(Self {
            d,
            inv_1pd: inv,
            za: z_a(id, &public)?,
            public,
        })
    }

    /// The public key.
    pub fn public_key(&self) -> &sm2::PublicKey {
        &self.public
    }

    /// Sign `msg` (GM/T 0003.2-2012 §6.1), k from the OS CSPRNG.
    pub fn sign(&self, msg: &[u8]) -> Result<sm2::dsa::Signature> {
        let e = e_of(&self.za, msg);
        let d: Scalar = *self.d;
        loop {
            let k = NonZeroScalar::random(&mut rand::rngs::OsRng);
            let p = mul_generator(&k).to_affine();
            let x1 = <Scalar as Reduce<U256>>::reduce_bytes(&p.x());
            let r = e + x1;
            if bool::from(r.is_zero()) || bool::from((r + *k).is_zero()) {
                continue;
            }
            let s = self.inv_1pd * (*k - r * d);
            if bool::from(s.is_zero()) {
                continue;
            }
            return sm2::dsa::Signature::from_scalars(r.to_repr(), s.to_repr())
                .map_err(|_| PkiError::Signer("signature out of range".into()));
        }
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
