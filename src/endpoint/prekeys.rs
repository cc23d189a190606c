//! Publishing prekeys and starting sessions from a peer's bundle.

use rand_core::CryptoRng;

use super::devices::Route;
use super::error::Result;
use super::sessions::SessionSet;
use super::{Endpoint, EndpointError, Loaded};
use crate::clock::Clock;
use crate::handshake::PrekeyBundle;
use crate::keys::{KemPrekey, OneTimePrekey, PrekeyId, SignedPrekey};
use crate::session::Session;
use crate::store::{PeerId, Store, WriteBatch};

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// Makes a fresh prekey bundle to publish: a new signed prekey, a new post-quantum prekey and
    /// a new one-time prekey, saved in one transaction. Each bundle is single use: the first
    /// session created from it deletes all three private prekeys (in the same transaction that
    /// saves the session), so a replayed handshake finds nothing to use. Hand each bundle to one
    /// peer.
    ///
    /// # Errors
    /// A store error; then nothing was saved.
    pub fn prekey_bundle(&self) -> Result<Vec<u8>> {
        self.generator.run(|rng| self.prekey_bundle_with(rng))
    }

    fn prekey_bundle_with<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<Vec<u8>> {
        let id = self.unused_prekey_id(rng)?;
        let signed = SignedPrekey::generate(rng, id, &self.identity);
        let one_time = OneTimePrekey::generate(rng, id);
        let kem = KemPrekey::generate(rng, id, &self.identity);
        let mut batch = WriteBatch::new();
        batch.put_signed_prekey(&signed).put_one_time_prekey(&one_time).put_kem_prekey(&kem);
        self.store.apply(batch)?;
        Ok(PrekeyBundle::new(self.identity.public_key(), &signed, Some(&one_time), &kem).to_bytes())
    }

    /// A random prekey id that no stored prekey uses.
    pub(super) fn unused_prekey_id<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<PrekeyId> {
        loop {
            let id = PrekeyId(rng.next_u32());
            let taken = self.store.signed_prekey(id)?.is_some()
                || self.store.one_time_prekey(id)?.is_some()
                || self.store.kem_prekey(id)?.is_some();
            if !taken {
                return Ok(id);
            }
        }
    }

    /// Starts a session with `peer` from its published `bundle`: checks the prekey signatures and
    /// the peer's identity (the first contact is trusted and remembered; a different identity
    /// later is refused until the app accepts it), then saves the session. The first message
    /// sent on it carries the handshake.
    ///
    /// A session with `peer` that already exists is not lost: it is kept, and still decrypts the
    /// messages in flight on it. The new session sends from now on unless the existing one has
    /// already received a message from `peer`; then the existing one goes on sending and the new
    /// one is kept behind it (PROTOCOL.md, section 12, "Several sessions with one peer"). A new
    /// identity (accepted with [`Store::accept_identity`]) drops the sessions of the old one.
    ///
    /// # Errors
    /// [`crate::session::DecodeError`] for a malformed bundle, [`crate::session::HandshakeError`] for a bad
    /// signature or key, [`crate::store::StoreError::IdentityChanged`] if `peer` presented another
    /// identity before.
    pub fn start_session(&self, peer: &PeerId, bundle: &[u8]) -> Result<()> {
        if *peer == self.own_id {
            return self
                .peers
                .with(peer, || self.generator.run(|rng| self.start_session_with(rng, peer, bundle)));
        }
        self.with_peer(peer, |rng| self.start_session_with(rng, peer, bundle))
    }

    fn start_session_with<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        person: &PeerId,
        bundle: &[u8],
    ) -> Result<()> {
        let bundle = PrekeyBundle::from_bytes(bundle)?;
        // A bundle of a linked device (PROTOCOL.md, section 16.6) starts a session kept under
        // its device session id; any other bundle one kept under the person's id.
        let id = match self.route(person, &bundle.identity_key()) {
            Ok(Route::Linked(id)) => id,
            _ if *person == self.own_id => return Err(EndpointError::UnknownDevice.into()),
            _ => person.clone(),
        };
        let peer = &id;
        let session = Session::initiate(rng, &self.identity, &bundle)?;
        let loaded = self.sessions(peer)?;
        let replaces = loaded.as_ref().map(|loaded| loaded.version);
        let sessions = match loaded {
            Some(Loaded { mut sessions, .. }) => {
                sessions.add(session);
                sessions
            }
            None => SessionSet::new(session),
        };
        let mut batch = WriteBatch::new();
        batch.put_peer_identity(peer, &bundle.identity_key());
        batch.put_session(peer, replaces, &sessions.to_bytes())?;
        self.store.apply(batch)?;
        Ok(())
    }
}
