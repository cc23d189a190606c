//! The serialized form of a [`RatchetState`], part of a session record (see PROTOCOL.md,
//! "Session record").

use std::collections::VecDeque;

use super::kdf::{ChainKey, MessageKey, RootKey};
use super::{Chain, RatchetState, SkippedKeys};
use crate::codec::{Reader, Writer};
use crate::consts::{MAX_PREVIOUS_RECEIVING_KEYS, MAX_STORED_SKIPPED_KEYS};
use crate::error::DecodeError;
use crate::keys::{DhKeyPair, DhPublicKey, Secret32};

const HAS_LOCAL: u8 = 1;
const HAS_REMOTE: u8 = 2;
const HAS_SENDING: u8 = 4;
const HAS_RECEIVING: u8 = 8;
/// Largest associated data a serialized state may carry.
const MAX_AD_LEN: usize = 1024;

impl RatchetState {
    pub(crate) fn write(&self, w: &mut Writer) {
        w.var_bytes(&self.associated_data);
        w.bytes(self.root_key.0.as_bytes());
        let flags = [
            (self.local_ratchet.is_some(), HAS_LOCAL),
            (self.remote_ratchet.is_some(), HAS_REMOTE),
            (self.sending.is_some(), HAS_SENDING),
            (self.receiving.is_some(), HAS_RECEIVING),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0u8, |acc, (_, bit)| acc | bit);
        w.u8(flags);
        if let Some(local) = &self.local_ratchet {
            w.bytes(&local.private_bytes()[..]);
        }
        if let Some(remote) = &self.remote_ratchet {
            w.bytes(remote.as_bytes());
        }
        for chain in [&self.sending, &self.receiving].into_iter().flatten() {
            w.bytes(chain.key.0.as_bytes());
            w.u32(chain.n);
        }
        w.u32(self.previous_counter);
        w.u8(u8::try_from(self.previous_remote.len()).unwrap_or(u8::MAX));
        for key in &self.previous_remote {
            w.bytes(key.as_bytes());
        }
        w.u32(u32::try_from(self.skipped.len()).unwrap_or(u32::MAX));
        for ((dh, n), key) in self.skipped.iter() {
            w.bytes(dh.as_bytes());
            w.u32(*n);
            w.bytes(key.0.as_bytes());
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let associated_data = r.var_bytes(MAX_AD_LEN)?.to_vec();
        let root_key = RootKey(Secret32(r.array()?));
        let flags = r.u8()?;
        if flags & !(HAS_LOCAL | HAS_REMOTE | HAS_SENDING | HAS_RECEIVING) != 0 {
            return Err(DecodeError::InvalidField("session flags"));
        }
        let local_ratchet =
            if flags & HAS_LOCAL != 0 { Some(DhKeyPair::from_private_bytes(r.array()?)) } else { None };
        let remote_ratchet = if flags & HAS_REMOTE != 0 { Some(DhPublicKey(r.array()?)) } else { None };
        let mut chain = |present: bool| -> Result<Option<Chain>, DecodeError> {
            if !present {
                return Ok(None);
            }
            let key = ChainKey(Secret32(r.array()?));
            Ok(Some(Chain { key, n: r.u32()? }))
        };
        let sending = chain(flags & HAS_SENDING != 0)?;
        let receiving = chain(flags & HAS_RECEIVING != 0)?;
        if (sending.is_some() && local_ratchet.is_none()) || (receiving.is_some() && remote_ratchet.is_none())
        {
            return Err(DecodeError::InvalidField("session chains"));
        }
        let previous_counter = r.u32()?;
        let previous_len = usize::from(r.u8()?);
        if previous_len > MAX_PREVIOUS_RECEIVING_KEYS {
            return Err(DecodeError::InvalidField("session previous keys"));
        }
        let mut previous_remote = VecDeque::with_capacity(previous_len);
        for _ in 0..previous_len {
            previous_remote.push_back(DhPublicKey(r.array()?));
        }
        let skipped_len = r.u32()? as usize;
        if skipped_len > MAX_STORED_SKIPPED_KEYS {
            return Err(DecodeError::InvalidField("session skipped keys"));
        }
        let mut skipped = SkippedKeys::default();
        for _ in 0..skipped_len {
            let dh = DhPublicKey(r.array()?);
            let n = r.u32()?;
            let key = MessageKey(Secret32(r.array()?));
            skipped.extend(dh, &[(n, key)]);
        }
        Ok(Self {
            associated_data,
            root_key,
            local_ratchet,
            remote_ratchet,
            sending,
            receiving,
            previous_counter,
            skipped,
            previous_remote,
        })
    }
}
