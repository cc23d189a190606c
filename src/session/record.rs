//! The session record: a session's versioned serialized form, for the store.
//!
//! Layout (PROTOCOL.md, "Session record"): `version (1) ‖ local identity (32) ‖ remote
//! identity (32) ‖ base key (32) ‖ pending flag (1) [‖ signed prekey id (4) ‖ one-time flag (1)
//! [‖ one-time id (4)] ‖ kem prekey id (4) ‖ kem ciphertext (1088)] ‖ digest flag (1)
//! [‖ handshake digest (32)] ‖ ratchet state`.

use zeroize::Zeroizing;

use super::{PendingPrekey, Result, Session};
use crate::codec::{Reader, Writer};
use crate::consts::{MAX_SESSION_LEN, SESSION_FORMAT_VERSION};
use crate::error::DecodeError;
use crate::keys::{DhPublicKey, IdentityKey, KemCiphertext, PrekeyId};
use crate::ratchet::RatchetState;

const WHAT: &str = "session record";

impl Session {
    /// Serializes the whole session state. The bytes contain secret keys: store them encrypted
    /// (the store does); they are zeroized when dropped. The buffer is allocated once, at exactly
    /// their length, so no partial copy is left behind in freed memory.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Writer::encode(|w| self.write(w))
    }

    fn write(&self, w: &mut Writer) {
        w.u8(SESSION_FORMAT_VERSION);
        w.bytes(self.local_identity.as_bytes());
        w.bytes(self.remote_identity.as_bytes());
        w.bytes(self.base_key.as_bytes());
        match &self.pending {
            None => w.u8(0),
            Some(p) => {
                w.u8(1);
                w.u32(p.signed_prekey_id.0);
                match p.one_time_prekey_id {
                    None => w.u8(0),
                    Some(id) => {
                        w.u8(1);
                        w.u32(id.0);
                    }
                }
                w.u32(p.kem_prekey_id.0);
                w.bytes(p.kem_ciphertext.as_bytes());
            }
        }
        match &self.handshake_digest {
            None => w.u8(0),
            Some(digest) => {
                w.u8(1);
                w.bytes(digest);
            }
        }
        self.ratchet.write(w);
    }

    /// Restores a session from [`Session::to_bytes`], exactly.
    ///
    /// # Errors
    /// [`SessionError::Decode`](super::SessionError::Decode) with
    /// [`DecodeError::UnsupportedVersion`] for a record of another format version, otherwise with
    /// [`DecodeError::InvalidField`] or [`DecodeError::TooLarge`] if the bytes are not a valid
    /// record.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let body = crate::wire::check_version(bytes, SESSION_FORMAT_VERSION, MAX_SESSION_LEN)?;
        let mut r = Reader::new(body, WHAT);
        let local_identity = IdentityKey::from_bytes(&r.array()?)?;
        let remote_identity = IdentityKey::from_bytes(&r.array()?)?;
        let base_key = DhPublicKey(r.array()?);
        let pending = match r.u8()? {
            0 => None,
            1 => {
                let signed_prekey_id = PrekeyId(r.u32()?);
                let one_time_prekey_id = match r.u8()? {
                    0 => None,
                    1 => Some(PrekeyId(r.u32()?)),
                    _ => return Err(DecodeError::InvalidField(WHAT).into()),
                };
                let kem_prekey_id = PrekeyId(r.u32()?);
                let kem_ciphertext = KemCiphertext::from_slice(r.take(crate::keys::KEM_CIPHERTEXT_LEN)?)
                    .map_err(|_| DecodeError::InvalidField(WHAT))?;
                Some(PendingPrekey { signed_prekey_id, one_time_prekey_id, kem_prekey_id, kem_ciphertext })
            }
            _ => return Err(DecodeError::InvalidField(WHAT).into()),
        };
        let handshake_digest = match r.u8()? {
            0 => None,
            1 => Some(r.array()?),
            _ => return Err(DecodeError::InvalidField(WHAT).into()),
        };
        let ratchet = RatchetState::read(&mut r)?;
        r.finish()?;
        Ok(Self { ratchet, local_identity, remote_identity, base_key, pending, handshake_digest })
    }
}
