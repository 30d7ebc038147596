//! Secrets at rest: random secrets, their hashes, and the vault that seals credentials.
//!
//! - Organization and user secrets and instance tokens are 32 random bytes, shown once as
//!   base64 and stored only as SHA-256 hashes. They are random, not chosen by people, so a plain
//!   hash (no salt, no slow KDF) already makes a stolen database useless for signing in.
//! - Provider credentials, client secrets and signature keys must be readable again, so they are
//!   sealed with AES-256-GCM. The key comes from `TRIBUTARY_MASTER_KEY` (base64 of 32 bytes) or
//!   from a key file created beside the SQLite database with mode 0600. Each sealed value is
//!   bound to its purpose (the configuration key, or "credentials") as associated data, so a
//!   ciphertext copied into another column does not open.
//! - Values handed out that must come back unchanged (the hub's page tokens) carry an
//!   HMAC-SHA256 tag under a key derived from the same master key ([`Vault::tag`]), so a
//!   caller cannot forge one, and every node of a deployment accepts another's.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;
use hmac::Mac;

fn hmac_with(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"))
}

/// Bytes of a tag: 128 bits, beyond any forger's reach.
const TAG_LEN: usize = 16;

/// The format byte in front of every sealed value.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// A fresh random secret: 32 bytes, base64 (as Cloud Elements' secrets look).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Why the vault could not be opened or a value not unsealed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "TRIBUTARY_MASTER_KEY is required with PostgreSQL: every node must seal and open \
         secrets with the same key (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)"
    )]
    MasterKeyRequired,
    #[error("TRIBUTARY_MASTER_KEY must be base64 of exactly 32 bytes")]
    BadMasterKey,
    #[error("key file {path}: {message}")]
    KeyFile { path: PathBuf, message: String },
    #[error("a sealed value does not open with this key (wrong TRIBUTARY_MASTER_KEY or key file?)")]
    Unseal,
}

/// Seals and opens secret values with AES-256-GCM, and tags values handed out.
pub struct Vault {
    cipher: Aes256Gcm,
    /// HMAC key for tags: HMAC-SHA256(master key, "tributary tags v1"), so the master key
    /// itself never keys two algorithms.
    tag_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(********)")
    }
}

impl Vault {
    pub fn from_key(key: &[u8; 32]) -> Vault {
        let mut derive = hmac_with(key);
        derive.update(b"tributary tags v1");
        Vault {
            cipher: Aes256Gcm::new(key.into()),
            tag_key: derive.finalize().into_bytes().into(),
        }
    }

    fn tag_mac(&self, purpose: &str, data: &[u8]) -> HmacSha256 {
        let mut mac = hmac_with(&self.tag_key);
        mac.update(&(purpose.len() as u64).to_le_bytes());
        mac.update(purpose.as_bytes());
        mac.update(data);
        mac
    }

    /// A tag of `data` for `purpose` (16 bytes of HMAC-SHA256): whoever lacks the master key
    /// cannot make one.
    pub fn tag(&self, purpose: &str, data: &[u8]) -> Vec<u8> {
        self.tag_mac(purpose, data).finalize().into_bytes()[..TAG_LEN].to_vec()
    }

    /// Whether `tag` is [`Vault::tag`] of `data` for `purpose` (compared in constant time).
    pub fn verify(&self, purpose: &str, data: &[u8], tag: &[u8]) -> bool {
        self.tag_mac(purpose, data)
            .verify_truncated_left(tag)
            .is_ok()
            && tag.len() == TAG_LEN
    }

    /// The vault for a deployment: the master key if given, else the key file beside the
    /// SQLite database (created on first start), else — for in-memory databases, whose data
    /// dies with the process anyway — a key of this process only. PostgreSQL needs the master
    /// key: its nodes share the sealed values.
    pub fn load(
        master_key: Option<&SecretString>,
        database_url: &str,
    ) -> Result<Vault, VaultError> {
        if let Some(master) = master_key {
            let bytes = STANDARD
                .decode(master.expose_secret().trim())
                .map_err(|_| VaultError::BadMasterKey)?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| VaultError::BadMasterKey)?;
            return Ok(Vault::from_key(&key));
        }
        match key_file_for(database_url) {
            Some(path) => Ok(Vault::from_key(&read_or_create_key_file(&path)?)),
            None if database_url.starts_with("postgres") => Err(VaultError::MasterKeyRequired),
            None => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                Ok(Vault::from_key(&key))
            }
        }
    }

    /// Encrypts `plaintext` for `purpose`: format byte, random nonce, ciphertext with tag.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: purpose.as_bytes(),
        };
        // Encryption fails only for plaintexts beyond 64 GiB; an empty vector would then fail to
        // open, which is the safe direction.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT_V1 {
            return Err(VaultError::Unseal);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Unseal)
    }

    pub fn seal_str(&self, purpose: &str, plaintext: &str) -> Vec<u8> {
        self.seal(purpose, plaintext.as_bytes())
    }

    pub fn open_string(&self, purpose: &str, sealed: &[u8]) -> Result<SecretString, VaultError> {
        let bytes = self.open(purpose, sealed)?;
        String::from_utf8(bytes)
            .map(SecretString::from)
            .map_err(|_| VaultError::Unseal)
    }
}

/// `tributary.db` → `tributary.db.key`; `None` for in-memory databases and other schemes.
pub fn key_file_for(database_url: &str) -> Option<PathBuf> {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    let mut file = PathBuf::from(path).into_os_string();
    file.push(".key");
    Some(PathBuf::from(file))
}

fn read_or_create_key_file(path: &Path) -> Result<[u8; 32], VaultError> {
    let error = |message: String| VaultError::KeyFile {
        path: path.to_owned(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = STANDARD
                .decode(text.trim())
                .map_err(|_| error("is not base64 of a 32-byte key".into()))?;
            return bytes
                .try_into()
                .map_err(|_| error("is not base64 of a 32-byte key".into()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(error(e.to_string())),
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", STANDARD.encode(key)).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| error(e.to_string()))?;
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_or_create_key_file(path),
        Err(e) => Err(error(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_purpose() {
        let vault = Vault::from_key(&[7; 32]);
        let sealed = vault.seal_str("oauth.api.secret", "hunter2");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(vault.open("oauth.api.secret", &sealed).unwrap(), b"hunter2");
        assert!(
            vault
                .open("event.notification.signature.key", &sealed)
                .is_err()
        );
        assert!(
            Vault::from_key(&[8; 32])
                .open("oauth.api.secret", &sealed)
                .is_err()
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(vault.open("oauth.api.secret", &tampered).is_err());
        assert!(vault.open("oauth.api.secret", &[]).is_err());
        assert_ne!(
            sealed,
            vault.seal_str("oauth.api.secret", "hunter2"),
            "fresh nonce each time"
        );
    }

    #[test]
    fn postgresql_needs_the_master_key_its_nodes_share() {
        let error = Vault::load(None, "postgres://postgres@127.0.0.1/x").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("TRIBUTARY_MASTER_KEY is required")
        );
        let key = SecretString::from(STANDARD.encode([7u8; 32]));
        assert!(Vault::load(Some(&key), "postgres://postgres@127.0.0.1/x").is_ok());
    }

    #[test]
    fn a_key_file_is_created_once_with_owner_only_permissions() {
        let dir = std::env::temp_dir().join(format!(
            "tributary-vault-{}",
            random_secret().replace('/', "_")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("t.db").display());
        let path = key_file_for(&url).unwrap();
        assert_eq!(path, dir.join("t.db.key"));
        let first = Vault::load(None, &url).unwrap();
        let sealed = first.seal_str("x", "value");
        let second = Vault::load(None, &url).unwrap();
        assert_eq!(
            second.open("x", &sealed).unwrap(),
            b"value",
            "the same key is read back"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_master_key_must_be_32_bytes_of_base64() {
        let good = SecretString::from(STANDARD.encode([1u8; 32]));
        assert!(Vault::load(Some(&good), "sqlite::memory:").is_ok());
        for bad in ["short", "!!!", &STANDARD.encode([1u8; 31])] {
            let error = Vault::load(Some(&SecretString::from(bad.to_owned())), "sqlite::memory:")
                .unwrap_err();
            assert!(matches!(error, VaultError::BadMasterKey));
        }
        assert_eq!(key_file_for("sqlite::memory:"), None);
        assert_eq!(
            key_file_for("sqlite://db/x.db?mode=rwc"),
            Some(PathBuf::from("db/x.db.key"))
        );
    }

    #[test]
    fn random_secrets_are_distinct_and_hash_to_32_bytes() {
        let (a, b) = (random_secret(), random_secret());
        assert_ne!(a, b);
        assert_eq!(STANDARD.decode(&a).unwrap().len(), 32);
        assert_eq!(hash_secret(&a).len(), 32);
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }
}
