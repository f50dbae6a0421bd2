//! Key envelopes for the encryption certificate's private key (SPEC F2): the CA's key manager
//! makes the key pair, and returns the private key enveloped to the signing certificate's
//! public key, as GM/T 0009 `SM2EnvelopedKey` (DER) and as GM/T 0016 (SKF) `ENVELOPEDKEYBLOB`.
//!
//! ```asn1
//! SM2EnvelopedKey ::= SEQUENCE {                               -- GM/T 0009-2012 §7.4
//!     symAlgID               AlgorithmIdentifier,             -- SM4 (ECB)
//!     symEncryptedKey        SM2Cipher,                       -- the SM4 key under SM2
//!     sm2PublicKey           SM2PublicKey,                    -- BIT STRING, 04 ‖ x ‖ y
//!     sm2EncryptedPrivateKey BIT STRING }                     -- d (32 octets) under SM4-ECB
//! SM2Cipher ::= SEQUENCE {                                     -- GM/T 0009-2012 §7.2
//!     XCoordinate INTEGER,
//!     YCoordinate INTEGER,
//!     HASH        OCTET STRING SIZE(32),                      -- C3 = SM3(x2 ‖ M ‖ y2)
//!     CipherText  OCTET STRING }                              -- C2
//! ```
//!
//! SM2 public-key encryption follows GM/T 0003.4-2012 §6 (C1 = [k]G, t = KDF(x2 ‖ y2, klen),
//! C2 = M ⊕ t, C3 = SM3(x2 ‖ M ‖ y2)); the KDF is §5.4.3 with SM3.

use crate::error::{PkiError, Result};
use crate::oid;
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Sequence};
use rand::RngCore;
use sm2::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use sm2::elliptic_curve::Field;
use sm2::{AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar};
use sm3::{Digest, Sm3};
use sm4::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use spki::AlgorithmIdentifierOwned;

/// `SM2Cipher` (GM/T 0009-2012 §7.2).
#[derive(Sequence, Debug, Clone)]
pub struct Sm2Cipher {
    /// x of C1
    pub x: der::asn1::Uint,
    /// y of C1
    pub y: der::asn1::Uint,
    /// C3
    pub hash: OctetString,
    /// C2
    pub cipher_text: OctetString,
}

/// `SM2EnvelopedKey` (GM/T 0009-2012 §7.4).
#[derive(Sequence, Debug, Clone)]
pub struct Sm2EnvelopedKey {
    /// symAlgID: SM4 (1.2.156.10197.1.104), used in ECB mode.
    pub sym_alg_id: AlgorithmIdentifierOwned,
    /// The SM4 key encrypted with SM2 to the recipient.
    pub sym_encrypted_key: Sm2Cipher,
    /// The enveloped key pair's public key, 04 ‖ x ‖ y.
    pub sm2_public_key: BitString,
    /// The 32-octet private key under SM4-ECB.
    pub sm2_encrypted_private_key: BitString,
}

fn kdf(z: &[u8], klen: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(klen + 32);
    let mut ct: u32 = 1;
    while out.len() < klen {
        let mut h = Sm3::new();
        h.update(z);
        h.update(ct.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        ct += 1;
    }
    out.truncate(klen);
    out
}

fn xy(p: &AffinePoint) -> Result<([u8; 32], [u8; 32])> {
    let e = p.to_encoded_point(false);
    let (x, y) = (
        e.x()
            .ok_or_else(|| PkiError::Envelope("point at infinity".into()))?,
        e.y()
            .ok_or_else(|| PkiError::Envelope("compressed point".into()))?,
    );
    let mut xa = [0u8; 32];
    let mut ya = [0u8; 32];
    xa.copy_from_slice(x);
    ya.copy_from_slice(y);
    Ok((xa, ya))
}

/// SM2-encrypt `msg` to `to` (GM/T 0003.4-2012 §6.1), returning C1 (x, y), C3 and C2.
pub fn sm2_encrypt(to: &sm2::PublicKey, msg: &[u8], rng: &mut impl RngCore) -> Result<Sm2Cipher> {
    loop {
        let k = Scalar::random(&mut *rng);
        if bool::from(k.is_zero()) {
            continue;
        }
        let c1 = (ProjectivePoint::GENERATOR * k).to_affine();
        let s = (to.to_projective() * k).to_affine();
        let (x2, y2) = xy(&s)?;
        let mut z = Vec::with_capacity(64);
        z.extend_from_slice(&x2);
        z.extend_from_slice(&y2);
        let t = kdf(&z, msg.len());
        if t.iter().all(|b| *b == 0) {
            continue;
        }
        let c2: Vec<u8> = msg.iter().zip(&t).map(|(m, k)| m ^ k).collect();
        let mut h = Sm3::new();
        h.update(x2);
        h.update(msg);
        h.update(y2);
        let c3 = h.finalize();
        let (x1, y1) = xy(&c1)?;
        return Ok(Sm2Cipher {
            x: der::asn1::Uint::new(&x1)?,
            y: der::asn1::Uint::new(&y1)?,
            hash: OctetString::new(c3.to_vec())?,
            cipher_text: OctetString::new(c2)?,
        });
    }
}

fn pad32(b: &[u8]) -> Result<[u8; 32]> {
    let b = if b.len() == 33 && b[0] == 0 {
        &b[1..]
    } else {
        b
    };
    if b.len() > 32 {
        return Err(PkiError::Envelope(
            "coordinate longer than 32 octets".into(),
        ));
    }
    let mut o = [0u8; 32];
    o[32 - b.len()..].copy_from_slice(b);
    Ok(o)
}

/// SM2-decrypt (GM/T 0003.4-2012 §7.1), checking C1 is on the curve and C3 matches.
pub fn sm2_decrypt(secret: &sm2::SecretKey, c: &Sm2Cipher) -> Result<Vec<u8>> {
    let x1 = pad32(c.x.as_bytes())?;
    let y1 = pad32(c.y.as_bytes())?;
    let ep =
        EncodedPoint::from_affine_coordinates(&FieldBytes::from(x1), &FieldBytes::from(y1), false);
    let c1 = Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&ep))
        .ok_or_else(|| PkiError::Envelope("C1 is not on the SM2 curve".into()))?;
    let s = (ProjectivePoint::from(c1) * *secret.to_nonzero_scalar()).to_affine();
    let (x2, y2) = xy(&s)?;
    let mut z = Vec::with_capacity(64);
    z.extend_from_slice(&x2);
    z.extend_from_slice(&y2);
    let c2 = c.cipher_text.as_bytes();
    let t = kdf(&z, c2.len());
    let m: Vec<u8> = c2.iter().zip(&t).map(|(a, b)| a ^ b).collect();
    let mut h = Sm3::new();
    h.update(x2);
    h.update(&m);
    h.update(y2);
    if h.finalize().as_slice() != c.hash.as_bytes() {
        return Err(PkiError::Envelope(
            "C3 does not match: wrong key or damaged envelope".into(),
        ));
    }
    Ok(m)
}

fn sm4_ecb(key: &[u8; 16], data: &[u8; 32], encrypt: bool) -> [u8; 32] {
    let c = sm4::Sm4::new(GenericArray::from_slice(key));
    let mut out = *data;
    for chunk in out.chunks_mut(16) {
        let b = GenericArray::from_mut_slice(chunk);
        if encrypt {
            c.encrypt_block(b);
        } else {
            c.decrypt_block(b);
        }
    }
    out
}

/// An enveloped private key in both forms.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// DER `SM2EnvelopedKey`.
    pub der: Vec<u8>,
    /// GM/T 0016 `ENVELOPEDKEYBLOB`, 388 octets (16-octet SM4 key as CipherLen).
    pub skf_blob: Vec<u8>,
}

impl Envelope {
    /// The envelope of a stored DER `SM2EnvelopedKey`, with its `ENVELOPEDKEYBLOB` made
    /// again from the same fields.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self> {
        let env = Sm2EnvelopedKey::from_der(der_bytes)?;
        let pub_pt = env.sm2_public_key.raw_bytes();
        let enc_d: [u8; 32] = env
            .sm2_encrypted_private_key
            .raw_bytes()
            .try_into()
            .map_err(|_| PkiError::Envelope("encrypted private key is not 32 octets".into()))?;
        if pub_pt.len() != 65 {
            return Err(PkiError::Envelope(
                "public key is not an uncompressed point".into(),
            ));
        }
        let skf_blob = skf_blob(&env.sym_encrypted_key, pub_pt, &enc_d)?;
        Ok(Self {
            der: der_bytes.to_vec(),
            skf_blob,
        })
    }
}

/// Envelope `key` (the encryption key pair) to `to` (the signing certificate's public key, or
/// the key manager's escrow key).
pub fn seal(key: &sm2::SecretKey, to: &sm2::PublicKey, rng: &mut impl RngCore) -> Result<Envelope> {
    let mut sym = [0u8; 16];
    rng.fill_bytes(&mut sym);
    let d: [u8; 32] = key.to_bytes().into();
    let enc_d = sm4_ecb(&sym, &d, true);
    let cipher = sm2_encrypt(to, &sym, rng)?;
    let pub_pt = key.public_key().to_encoded_point(false);
    let env = Sm2EnvelopedKey {
        sym_alg_id: AlgorithmIdentifierOwned {
            oid: oid::SM4,
            parameters: None,
        },
        sym_encrypted_key: cipher.clone(),
        sm2_public_key: BitString::from_bytes(pub_pt.as_bytes())?,
        sm2_encrypted_private_key: BitString::from_bytes(&enc_d)?,
    };
    let skf_blob = skf_blob(&cipher, pub_pt.as_bytes(), &enc_d)?;
    Ok(Envelope {
        der: env.to_der()?,
        skf_blob,
    })
}

/// `SGD_SM4_ECB` (GM/T 0006-2012 Table 1).
pub const SGD_SM4_ECB: u32 = 0x0000_0401;

/// GM/T 0016-2012 §6.4.10 `ENVELOPEDKEYBLOB`, little-endian ULONGs, 32-octet values
/// right-aligned in 64-octet fields:
/// ```c
/// typedef struct { ULONG Version; ULONG ulSymmAlgID; ULONG ulBits;
///   BYTE cbEncryptedPriKey[64]; ECCPUBLICKEYBLOB PubKey; ECCCIPHERBLOB ECCCipherBlob; } ENVELOPEDKEYBLOB;
/// typedef struct { ULONG BitLen; BYTE XCoordinate[64]; BYTE YCoordinate[64]; } ECCPUBLICKEYBLOB;
/// typedef struct { BYTE XCoordinate[64]; BYTE YCoordinate[64]; BYTE HASH[32];
///   ULONG CipherLen; BYTE Cipher[]; } ECCCIPHERBLOB;
/// ```
fn skf_blob(c: &Sm2Cipher, pub_pt: &[u8], enc_d: &[u8; 32]) -> Result<Vec<u8>> {
    let mut b = Vec::with_capacity(388);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&SGD_SM4_ECB.to_le_bytes());
    b.extend_from_slice(&256u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 32]);
    b.extend_from_slice(enc_d);
    b.extend_from_slice(&256u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 32]);
    b.extend_from_slice(&pub_pt[1..33]);
    b.extend_from_slice(&[0u8; 32]);
    b.extend_from_slice(&pub_pt[33..65]);
    b.extend_from_slice(&[0u8; 32]);
    b.extend_from_slice(&pad32(c.x.as_bytes())?);
    b.extend_from_slice(&[0u8; 32]);
    b.extend_from_slice(&pad32(c.y.as_bytes())?);
    b.extend_from_slice(c.hash.as_bytes());
    let ct = c.cipher_text.as_bytes();
    b.extend_from_slice(&(ct.len() as u32).to_le_bytes());
    b.extend_from_slice(ct);
    Ok(b)
}

/// Open a DER `SM2EnvelopedKey` with the recipient's private key; checks the recovered key
/// matches the envelope's public key.
pub fn open(der_bytes: &[u8], recipient: &sm2::SecretKey) -> Result<sm2::SecretKey> {
    let env = Sm2EnvelopedKey::from_der(der_bytes)
        .map_err(|e| PkiError::Envelope(format!("DER: {e}")))?;
    if env.sym_alg_id.oid != oid::SM4 {
        return Err(PkiError::Envelope("symAlgID is not SM4".into()));
    }
    let sym = sm2_decrypt(recipient, &env.sym_encrypted_key)?;
    let sym: [u8; 16] = sym
        .try_into()
        .map_err(|_| PkiError::Envelope("symmetric key is not 16 octets".into()))?;
    let enc_d: [u8; 32] = env
        .sm2_encrypted_private_key
        .as_bytes()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| PkiError::Envelope("encrypted private key is not 32 octets".into()))?;
    let d = sm4_ecb(&sym, &enc_d, false);
    let key = sm2::SecretKey::from_bytes(&FieldBytes::from(d))
        .map_err(|_| PkiError::Envelope("recovered key out of range".into()))?;
    let expect = env.sm2_public_key.as_bytes().unwrap_or_default();
    if key.public_key().to_encoded_point(false).as_bytes() != expect {
        return Err(PkiError::Envelope(
            "recovered key does not match the envelope's public key".into(),
        ));
    }
    Ok(key)
}

/// Open a GM/T 0016 `ENVELOPEDKEYBLOB` with the recipient's private key.
pub fn open_skf(blob: &[u8], recipient: &sm2::SecretKey) -> Result<sm2::SecretKey> {
    if blob.len() < 372 {
        return Err(PkiError::Envelope("ENVELOPEDKEYBLOB too short".into()));
    }
    let u32le = |o: usize| u32::from_le_bytes([blob[o], blob[o + 1], blob[o + 2], blob[o + 3]]);
    if u32le(4) != SGD_SM4_ECB {
        return Err(PkiError::Envelope("ulSymmAlgID is not SGD_SM4_ECB".into()));
    }
    let enc_d: [u8; 32] = blob[44..76]
        .try_into()
        .map_err(|_| PkiError::Envelope("layout".into()))?;
    let cipher_off = 76 + 4 + 128;
    let x = &blob[cipher_off + 32..cipher_off + 64];
    let y = &blob[cipher_off + 96..cipher_off + 128];
    let hash = &blob[cipher_off + 128..cipher_off + 160];
    let len = u32le(cipher_off + 160) as usize;
    let ct = blob
        .get(cipher_off + 164..cipher_off + 164 + len)
        .ok_or_else(|| PkiError::Envelope("CipherLen beyond the blob".into()))?;
    let c = Sm2Cipher {
        x: der::asn1::Uint::new(x)?,
        y: der::asn1::Uint::new(y)?,
        hash: OctetString::new(hash.to_vec())?,
        cipher_text: OctetString::new(ct.to_vec())?,
    };
    let sym: [u8; 16] = sm2_decrypt(recipient, &c)?
        .try_into()
        .map_err(|_| PkiError::Envelope("symmetric key is not 16 octets".into()))?;
    let d = sm4_ecb(&sym, &enc_d, false);
    sm2::SecretKey::from_bytes(&FieldBytes::from(d))
        .map_err(|_| PkiError::Envelope("recovered key out of range".into()))
}
