//! The value transformers of upstream's `k8s.io/apiserver/pkg/storage/value/encrypt`, byte for
//! byte: a stored value is `k8s:enc:<provider>:v1:<key name>:` followed by
//!
//! * `aesgcm`: a 12-byte random nonce, then AES-GCM's ciphertext and 16-byte tag, sealed with the
//!   value's storage key as additional authenticated data;
//! * `aescbc`: a 16-byte random IV, then AES-CBC over the value padded as PKCS#7;
//! * `secretbox`: a 24-byte random nonce, then NaCl's secretbox (the 16-byte Poly1305 tag, then
//!   the XSalsa20 ciphertext).
//!
//! `identity` stores the value as it is and refuses to read a value with the `k8s:enc:` prefix.

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use bytes::Bytes;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use ring::rand::{SecureRandom, SystemRandom};

/// The prefix every encrypted value starts with (upstream's identity transformer checks it).
pub const ENCRYPTED_PREFIX: &[u8] = b"k8s:enc:";

const GCM_NONCE: usize = 12;
const GCM_TAG: usize = 16;
const AES_BLOCK: usize = 16;
const SECRETBOX_NONCE: usize = 24;
const SECRETBOX_TAG: usize = 16;

/// Upstream's error texts.
const SHORT_DATA: &str = "the stored data was shorter than the required size";
const NOT_BLOCK_MULTIPLE: &str = "the stored data is not a multiple of the block size";
const INVALID_PKCS7_DATA: &str = "invalid PKCS7 data (empty or not padded)";
const INVALID_PKCS7_PADDING: &str = "invalid padding on input";
const IDENTITY_READ_ENCRYPTED: &str = "identity transformer tried to read encrypted data";
/// Go's `cipher.AEAD.Open` error.
const GCM_OPEN_FAILED: &str = "cipher: message authentication failed";

type Aes192Gcm = aes_gcm::AesGcm<aes::Aes192, aes_gcm::aead::consts::U12>;

enum Gcm {
    Aes128(Box<aes_gcm::Aes128Gcm>),
    Aes192(Box<Aes192Gcm>),
    Aes256(Box<aes_gcm::Aes256Gcm>),
}

/// An AES key of 16, 24 or 32 bytes, kept for CBC (a CBC cipher object holds its IV).
enum CbcKey {
    Aes128([u8; 16]),
    Aes192([u8; 24]),
    Aes256([u8; 32]),
}

enum Cipher {
    AesGcm(Gcm),
    AesCbc(CbcKey),
    Secretbox(Box<crypto_secretbox::XSalsa20Poly1305>),
    Identity,
}

/// One provider key (or `identity`) with the prefix its values carry.
pub struct Provider {
    prefix: Vec<u8>,
    cipher: Cipher,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Provider")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .finish()
    }
}

fn key_length_error(got: usize, expected: &[usize]) -> String {
    let sizes: Vec<String> = expected.iter().map(usize::to_string).collect();
    format!(
        "secret is not of the expected length, got {got}, expected one of [{}]",
        sizes.join(" ")
    )
}

fn prefix(provider: &str, key_name: &str) -> Vec<u8> {
    format!("k8s:enc:{provider}:v1:{key_name}:").into_bytes()
}

impl Provider {
    /// An `aesgcm` key (16, 24 or 32 bytes).
    pub fn aesgcm(key_name: &str, key: &[u8]) -> Result<Self, String> {
        let bad = |_| key_length_error(key.len(), &[16, 24, 32]);
        let gcm = match key.len() {
            16 => Gcm::Aes128(Box::new(
                aes_gcm::Aes128Gcm::new_from_slice(key).map_err(bad)?,
            )),
            24 => Gcm::Aes192(Box::new(Aes192Gcm::new_from_slice(key).map_err(bad)?)),
            32 => Gcm::Aes256(Box::new(
                aes_gcm::Aes256Gcm::new_from_slice(key).map_err(bad)?,
            )),
            n => return Err(key_length_error(n, &[16, 24, 32])),
        };
        Ok(Self {
            prefix: prefix("aesgcm", key_name),
            cipher: Cipher::AesGcm(gcm),
        })
    }

    /// An `aescbc` key (16, 24 or 32 bytes, as upstream's validation accepts).
    pub fn aescbc(key_name: &str, key: &[u8]) -> Result<Self, String> {
        let cbc = match key.len() {
            16 => CbcKey::Aes128(copy_key(key)),
            24 => CbcKey::Aes192(copy_key(key)),
            32 => CbcKey::Aes256(copy_key(key)),
            n => return Err(key_length_error(n, &[16, 24, 32])),
        };
        Ok(Self {
            prefix: prefix("aescbc", key_name),
            cipher: Cipher::AesCbc(cbc),
        })
    }

    /// A `secretbox` key (32 bytes).
    pub fn secretbox(key_name: &str, key: &[u8]) -> Result<Self, String> {
        if key.len() != 32 {
            return Err(key_length_error(key.len(), &[32]));
        }
        let cipher = crypto_secretbox::XSalsa20Poly1305::new_from_slice(key)
            .map_err(|_| key_length_error(key.len(), &[32]))?;
        Ok(Self {
            prefix: prefix("secretbox", key_name),
            cipher: Cipher::Secretbox(Box::new(cipher)),
        })
    }

    /// `identity`: values stored as they are.
    pub fn identity() -> Self {
        Self {
            prefix: Vec::new(),
            cipher: Cipher::Identity,
        }
    }

    /// The prefix this provider's values start with (empty for `identity`).
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The stored form of `plaintext` under the storage key `context`.
    pub fn seal(&self, plaintext: &Bytes, context: &[u8]) -> Result<Bytes, String> {
        let body = match &self.cipher {
            Cipher::Identity => return Ok(plaintext.clone()),
            Cipher::AesGcm(gcm) => seal_gcm(gcm, plaintext, context)?,
            Cipher::AesCbc(key) => seal_cbc(key, plaintext)?,
            Cipher::Secretbox(secretbox) => seal_secretbox(secretbox, plaintext)?,
        };
        let mut out = Vec::with_capacity(self.prefix.len() + body.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&body);
        Ok(Bytes::from(out))
    }

    /// The plaintext of `stored`, which starts with this provider's prefix.
    pub fn open(&self, stored: &Bytes, context: &[u8]) -> Result<Bytes, String> {
        let body = &stored[self.prefix.len()..];
        match &self.cipher {
            Cipher::Identity => {
                if stored.starts_with(ENCRYPTED_PREFIX) {
                    Err(IDENTITY_READ_ENCRYPTED.to_string())
                } else {
                    Ok(stored.clone())
                }
            }
            Cipher::AesGcm(gcm) => open_gcm(gcm, body, context).map(Bytes::from),
            Cipher::AesCbc(key) => open_cbc(key, body).map(Bytes::from),
            Cipher::Secretbox(secretbox) => open_secretbox(secretbox, body).map(Bytes::from),
        }
    }
}

fn copy_key<const N: usize>(key: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(key);
    out
}

fn random(buf: &mut [u8]) -> Result<(), String> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| "unable to read sufficient random bytes".to_string())
}

fn seal_gcm(gcm: &Gcm, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; GCM_NONCE];
    random(&mut out)?;
    out.extend_from_slice(plaintext);
    let (nonce, data) = out.split_at_mut(GCM_NONCE);
    let nonce = GenericArray::from_slice(nonce);
    let sealed = match gcm {
        Gcm::Aes128(c) => c.encrypt_in_place_detached(nonce, context, data),
        Gcm::Aes192(c) => c.encrypt_in_place_detached(nonce, context, data),
        Gcm::Aes256(c) => c.encrypt_in_place_detached(nonce, context, data),
    };
    let tag = sealed.map_err(|_| "AES-GCM encryption failed".to_string())?;
    out.extend_from_slice(tag.as_slice());
    Ok(out)
}

fn open_gcm(gcm: &Gcm, body: &[u8], context: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < GCM_NONCE {
        return Err(SHORT_DATA.to_string());
    }
    if body.len() < GCM_NONCE + GCM_TAG {
        return Err(GCM_OPEN_FAILED.to_string());
    }
    let nonce = GenericArray::from_slice(&body[..GCM_NONCE]);
    let tag_at = body.len() - GCM_TAG;
    let tag = GenericArray::from_slice(&body[tag_at..]);
    let mut data = body[GCM_NONCE..tag_at].to_vec();
    let opened = match gcm {
        Gcm::Aes128(c) => c.decrypt_in_place_detached(nonce, context, &mut data, tag),
        Gcm::Aes192(c) => c.decrypt_in_place_detached(nonce, context, &mut data, tag),
        Gcm::Aes256(c) => c.decrypt_in_place_detached(nonce, context, &mut data, tag),
    };
    opened.map_err(|_| GCM_OPEN_FAILED.to_string())?;
    Ok(data)
}

/// Pads with PKCS#7 to whole blocks and encrypts each block in turn.
fn seal_cbc(key: &CbcKey, plaintext: &[u8]) -> Result<Vec<u8>, String> {
    let pad = AES_BLOCK - plaintext.len() % AES_BLOCK;
    let mut out = vec![0u8; AES_BLOCK];
    random(&mut out)?;
    let iv = out.clone();
    out.extend_from_slice(plaintext);
    out.extend(std::iter::repeat_n(pad as u8, pad));
    let blocks = &mut out[AES_BLOCK..];
    match key {
        CbcKey::Aes128(k) => encrypt_blocks::<aes::Aes128>(k, &iv, blocks),
        CbcKey::Aes192(k) => encrypt_blocks::<aes::Aes192>(k, &iv, blocks),
        CbcKey::Aes256(k) => encrypt_blocks::<aes::Aes256>(k, &iv, blocks),
    }?;
    Ok(out)
}

fn encrypt_blocks<C>(key: &[u8], iv: &[u8], data: &mut [u8]) -> Result<(), String>
where
    C: cbc::cipher::BlockEncryptMut
        + cbc::cipher::BlockCipher
        + cbc::cipher::KeyInit
        + cbc::cipher::BlockSizeUser<BlockSize = cbc::cipher::consts::U16>,
{
    let mut encryptor = cbc::Encryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| "invalid AES-CBC key or IV length".to_string())?;
    for block in data.chunks_exact_mut(AES_BLOCK) {
        encryptor.encrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    Ok(())
}

fn decrypt_blocks<C>(key: &[u8], iv: &[u8], data: &mut [u8]) -> Result<(), String>
where
    C: cbc::cipher::BlockDecryptMut
        + cbc::cipher::BlockCipher
        + cbc::cipher::KeyInit
        + cbc::cipher::BlockSizeUser<BlockSize = cbc::cipher::consts::U16>,
{
    let mut decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| "invalid AES-CBC key or IV length".to_string())?;
    for block in data.chunks_exact_mut(AES_BLOCK) {
        decryptor.decrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    Ok(())
}

fn open_cbc(key: &CbcKey, body: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < AES_BLOCK {
        return Err(SHORT_DATA.to_string());
    }
    let (iv, data) = body.split_at(AES_BLOCK);
    if data.len() % AES_BLOCK != 0 {
        return Err(NOT_BLOCK_MULTIPLE.to_string());
    }
    let mut data = data.to_vec();
    match key {
        CbcKey::Aes128(k) => decrypt_blocks::<aes::Aes128>(k, iv, &mut data),
        CbcKey::Aes192(k) => decrypt_blocks::<aes::Aes192>(k, iv, &mut data),
        CbcKey::Aes256(k) => decrypt_blocks::<aes::Aes256>(k, iv, &mut data),
    }?;
    // Upstream's unpadding: the last byte counts the padding bytes, each equal to it.
    let Some(&last) = data.last() else {
        return Err(INVALID_PKCS7_DATA.to_string());
    };
    let pad = usize::from(last);
    if pad == 0 || pad > data.len() {
        return Err(INVALID_PKCS7_DATA.to_string());
    }
    let size = data.len() - pad;
    if data[size..].iter().any(|&b| b != last) {
        return Err(INVALID_PKCS7_PADDING.to_string());
    }
    data.truncate(size);
    Ok(data)
}

fn seal_secretbox(
    secretbox: &crypto_secretbox::XSalsa20Poly1305,
    plaintext: &[u8],
) -> Result<Vec<u8>, String> {
    let mut nonce = [0u8; SECRETBOX_NONCE];
    random(&mut nonce)?;
    let mut data = plaintext.to_vec();
    let tag = secretbox
        .encrypt_in_place_detached(GenericArray::from_slice(&nonce), b"", &mut data)
        .map_err(|_| "secretbox encryption failed".to_string())?;
    let mut out = Vec::with_capacity(SECRETBOX_NONCE + SECRETBOX_TAG + data.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(tag.as_slice());
    out.extend_from_slice(&data);
    Ok(out)
}

fn open_secretbox(
    secretbox: &crypto_secretbox::XSalsa20Poly1305,
    body: &[u8],
) -> Result<Vec<u8>, String> {
    if body.len() < SECRETBOX_NONCE + SECRETBOX_TAG {
        return Err(SHORT_DATA.to_string());
    }
    let nonce = GenericArray::from_slice(&body[..SECRETBOX_NONCE]);
    let tag = GenericArray::from_slice(&body[SECRETBOX_NONCE..SECRETBOX_NONCE + SECRETBOX_TAG]);
    let mut data = body[SECRETBOX_NONCE + SECRETBOX_TAG..].to_vec();
    secretbox
        .decrypt_in_place_detached(nonce, b"", &mut data, tag)
        .map_err(|_| "output array was not large enough for encryption".to_string())?;
    Ok(data)
}

/// The providers of one resource, in configuration order: the first writes, all read.
#[derive(Debug)]
pub struct Transformer {
    providers: Vec<Provider>,
}

impl Transformer {
    /// `providers` must not be empty.
    pub fn new(providers: Vec<Provider>) -> Self {
        assert!(!providers.is_empty(), "a transformer needs a provider");
        Self { providers }
    }

    /// The stored form of `plaintext` at `context` (the storage key), by the first provider.
    pub fn write(&self, plaintext: &Bytes, context: &[u8]) -> Result<Bytes, String> {
        self.providers[0].seal(plaintext, context)
    }

    /// The plaintext of a stored value and whether it is stale (not read by the first provider),
    /// as upstream's `prefixTransformers.TransformFromStorage`: the first provider whose prefix
    /// the value has reads it; an `identity` that fails lets later providers try.
    pub fn read(&self, stored: &Bytes, context: &[u8]) -> Result<(Bytes, bool), String> {
        let mut identity_error = None;
        for (i, provider) in self.providers.iter().enumerate() {
            if !stored.starts_with(&provider.prefix) {
                continue;
            }
            match provider.open(stored, context) {
                Err(err) if provider.prefix.is_empty() => identity_error = Some(err),
                Err(err) => return Err(err),
                Ok(plain) => return Ok((plain, i != 0)),
            }
        }
        Err(identity_error.unwrap_or_else(|| "no matching prefix found".to_string()))
    }
}
