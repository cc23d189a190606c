//! A conversation's history, a page at a time, in the senders' order (PROTOCOL.md, section 12,
//! "Order"), with the peer's messages that have not arrived yet shown as gaps and stored records
//! that cannot be read reported in their place.

use super::error::Result;
use super::record;
use super::sequence::Missing;
use super::types::{HistoryCursor, HistoryEntry, HistoryItem, HistoryPage};
use super::Endpoint;
use crate::agreement::Role;
use crate::clock::{Clock, Timestamp};
use crate::store::consts::MAX_PAGE_LEN;
use crate::store::{Direction, PageEntry, PeerId, Store};

/// Where an item sorts: its place in the conversation, its sender (the clinician first), its
/// sequence number, and its id.
type SortKey = (Timestamp, u8, u64, [u8; 32]);

fn role_rank(role: Role) -> u8 {
    match role {
        Role::Clinician => 0,
        Role::Client => 1,
    }
}

impl<S: Store, C: Clock> Endpoint<S, C> {
    /// One page of the conversation with `peer`, oldest first: the newest page for `before` =
    /// `None`, else the page before the cursor a previous page returned. A page holds the newest
    /// `limit` messages before the cursor, and every other message sent in the same millisecond
    /// as the oldest of them.
    ///
    /// Messages are in the senders' order: by the sender's time of sending (a received message
    /// is never placed after its arrival), then the clinician's before the client's, then by
    /// sequence number, then by id; the same on both devices. Before the first message of the
    /// peer that follows missing ones, a [`HistoryItem::Gap`] says that earlier messages have
    /// not arrived yet (or [`HistoryItem::Lost`], once they are known lost); on the newest page,
    /// a gap that no stored message follows comes last. A stored record that cannot be read is
    /// a [`HistoryItem::Damaged`] in its place; the others are returned. Messages past their
    /// expiry are left out even before [`Self::purge_expired`] deletes them.
    ///
    /// # Errors
    /// [`crate::store::StoreError::InvalidInput`] if `limit` is 0 or above
    /// [`crate::store::consts::MAX_PAGE_LEN`]; a store error if the store cannot be read;
    /// [`crate::session::DecodeError`] if the conversation's stored state does not decode.
    pub fn history_page(
        &self,
        peer: &PeerId,
        before: Option<HistoryCursor>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let page = self.store.messages_page(peer, before.map(|cursor| cursor.0), limit)?;
        let now = self.now();
        let mut keyed: Vec<(SortKey, HistoryItem)> = Vec::with_capacity(page.entries.len());
        for entry in page.entries {
            match entry {
                PageEntry::Message(message) if message.expires_at.is_some_and(|at| at <= now) => {}
                PageEntry::Message(message) => {
                    let at = message.at;
                    let id = message.id;
                    let mut tie = [0u8; 32];
                    tie[..16].copy_from_slice(&id.0);
                    match record::open(&message.body) {
                        Ok((content, marks)) => {
                            let sender = match message.direction {
                                Direction::Outbound => self.role,
                                Direction::Inbound => self.peer_role(),
                            };
                            let key = (at, role_rank(sender), content.sequence(), tie);
                            keyed.push((
                                key,
                                HistoryItem::Message(HistoryEntry {
                                    id,
                                    direction: message.direction,
                                    category: content.category().clone(),
                                    text: zeroize::Zeroizing::new(content.text().to_owned()),
                                    at,
                                    expires_at: message.expires_at,
                                    read_at: message.read_at,
                                    sent_at: content.sent_at(),
                                    sequence: content.sequence(),
                                    ack_requested: content.ack_requested(),
                                    marks,
                                    corrects: content.corrects(),
                                }),
                            ));
                        }
                        Err(_) => keyed.push((
                            (at, 2, 0, tie),
                            HistoryItem::Damaged { record: None, id: Some(id), at: Some(at) },
                        )),
                    }
                }
                PageEntry::Damaged(damaged) => keyed.push((
                    (damaged.at.unwrap_or(Timestamp(0)), 2, 0, *damaged.record.as_bytes()),
                    HistoryItem::Damaged { record: Some(damaged.record), id: None, at: damaged.at },
                )),
            }
        }
        keyed.sort_by_key(|(key, _)| *key);
        let mut items: Vec<HistoryItem> = keyed.into_iter().map(|(_, item)| item).collect();
        // The peer's primary device numbers its messages, and so does each linked device
        // (PROTOCOL.md, section 16.9): the gaps of each.
        let mut states = vec![self.sequence_state(peer)?];
        for (_, id) in self.linked_devices(peer)? {
            states.push(self.sequence_state(&id)?);
        }
        let newest = before.is_none();
        for state in states {
            place(&mut items, state.lost(), newest, |m| HistoryItem::Lost { first: m.first, last: m.last });
            place(&mut items, state.gaps(), newest, |m| HistoryItem::Gap { first: m.first, last: m.last });
        }
        Ok(HistoryPage { items, before: page.next.map(HistoryCursor) })
    }

    /// Every item of the conversation with `peer`: all its pages ([`Self::history_page`]),
    /// oldest first.
    ///
    /// # Errors
    /// As [`Self::history_page`].
    pub fn history_items(&self, peer: &PeerId) -> Result<Vec<HistoryItem>> {
        let mut pages = Vec::new();
        let mut before = None;
        loop {
            let page = self.history_page(peer, before, MAX_PAGE_LEN)?;
            pages.push(page.items);
            match page.before {
                Some(cursor) => before = Some(cursor),
                None => break,
            }
        }
        Ok(pages.into_iter().rev().flatten().collect())
    }
}

/// Inserts an item for each run of `missing` before the first of the peer's messages on the page
/// numbered after it; on the newest page, a run no message on it follows goes last.
fn place(
    items: &mut Vec<HistoryItem>,
    missing: Vec<Missing>,
    newest: bool,
    item: impl Fn(Missing) -> HistoryItem,
) {
    for run in missing {
        let follows = items.iter().position(|entry| {
            matches!(entry, HistoryItem::Message(m) if m.direction == Direction::Inbound && m.sequence > run.last)
        });
        match follows {
            Some(index) => items.insert(index, item(run)),
            None if newest => items.push(item(run)),
            None => {}
        }
    }
}
