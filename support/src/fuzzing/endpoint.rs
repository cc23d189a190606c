//! Fuzz property of the endpoint's batched receive: any mix of genuine envelopes, replays,
//! forgeries and garbage in one `receive_batch`. What the batch reports as received is exactly
//! what is stored; an envelope reported as failed changed nothing, so afterwards every genuine
//! envelope not yet received still decrypts, and every received one is a duplicate.

use std::collections::HashSet;

use confidant::content::CategoryKind;
use confidant::session::SessionError;
use confidant::store::MemoryStore;
use confidant::{AppointmentKind, Category, Draft, Error, HistoryItem, Received};

use super::Violation;
use crate::pair::{pair, Pair};

/// Genuine envelopes the client sends before the batch.
const SENT: usize = 8;
/// Entries of one batch at most.
const MAX_ENTRIES: usize = 32;

/// Reads the input as entries: a tag byte, then the tag's operands. Tag `% 4`: 0 a genuine
/// envelope (index byte), 1 one with a flipped byte (index, position), 2 one cut short (index,
/// length), 3 garbage (length byte, then the bytes).
fn entries(data: &[u8], envelopes: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut input = data.iter().copied();
    while out.len() < MAX_ENTRIES {
        let Some(tag) = input.next() else { break };
        let index = usize::from(input.next().unwrap_or(0)) % envelopes.len();
        let genuine = &envelopes[index];
        match tag % 4 {
            0 => out.push(genuine.clone()),
            1 => {
                let mut bytes = genuine.clone();
                let at = usize::from(input.next().unwrap_or(0)) % bytes.len();
                bytes[at] ^= 0x01;
                out.push(bytes);
            }
            2 => {
                let len = usize::from(input.next().unwrap_or(0)) % genuine.len();
                out.push(genuine[..len].to_vec());
            }
            _ => {
                let len = index;
                out.push(input.by_ref().take(len).collect());
            }
        }
    }
    out
}

fn texts(pair: &Pair<MemoryStore>) -> Result<Vec<String>, Violation> {
    let history = pair
        .clinician
        .history(&pair.client_id)
        .map_err(|e| Violation::new(format!("endpoint: history failed: {e}")))?;
    Ok(history
        .iter()
        .filter(|entry| entry.category.kind() == CategoryKind::AppointmentConfirm)
        .map(|entry| entry.text.to_string())
        .collect())
}

pub(super) fn endpoint_batch(data: &[u8]) -> Result<(), Violation> {
    let pair = pair(1);
    let mut envelopes = Vec::with_capacity(SENT);
    for i in 0..SENT {
        let draft = Draft::new(Category::Appointment(AppointmentKind::Confirm), format!("message {i}"));
        let sent = super::setup("send", pair.client.send(&pair.clinician_id, draft))?;
        envelopes.push(sent.envelope.ok_or_else(|| Violation::new("fixture: a confirmation was refused"))?);
    }
    let batch = entries(data, &envelopes);
    let results = super::setup("receive_batch", pair.clinician.receive_batch(&pair.client_id, &batch))?;
    if results.len() != batch.len() {
        return Err(Violation::new("endpoint: one result per envelope"));
    }
    let mut received = HashSet::new();
    for result in results.iter().flatten() {
        let Received::Message(message) = &result.received else {
            return Err(Violation::new("endpoint: a batch entry was received as something else"));
        };
        if !received.insert(message.text.to_string()) {
            return Err(Violation::new("endpoint: one message received twice in a batch"));
        }
    }
    let mut stored = texts(&pair)?;
    stored.sort();
    let mut reported: Vec<String> = received.iter().cloned().collect();
    reported.sort();
    if stored != reported {
        return Err(Violation::new("endpoint: what the batch reported differs from what it stored"));
    }
    // Message i carries sequence number i + 1: the history shows a gap exactly where a number
    // below the highest received is missing.
    let numbers: Vec<u64> = (0..SENT)
        .filter(|i| received.contains(&format!("message {i}")))
        .map(|i| u64::try_from(i).unwrap_or(u64::MAX) + 1)
        .collect();
    let highest = numbers.iter().max().copied().unwrap_or(0);
    let missing: Vec<u64> = (1..highest).filter(|n| !numbers.contains(n)).collect();
    let items = super::setup("history_items", pair.clinician.history_items(&pair.client_id))?;
    let gaps: Vec<u64> = items
        .iter()
        .flat_map(|item| match item {
            HistoryItem::Gap { first, last } => (*first..=*last).collect(),
            _ => Vec::new(),
        })
        .collect();
    if gaps != missing {
        return Err(Violation::new(format!("endpoint: gaps {gaps:?}, missing {missing:?}")));
    }
    for (i, envelope) in envelopes.iter().enumerate() {
        let was_received = received.contains(&format!("message {i}"));
        match (pair.clinician.receive(&pair.client_id, envelope), was_received) {
            (Ok(_), false) | (Err(Error::Session(SessionError::Duplicate)), true) => {}
            (Ok(_), true) => return Err(Violation::new(format!("endpoint: message {i} decrypted twice"))),
            (Err(e), _) => return Err(Violation::new(format!("endpoint: message {i} after the batch: {e}"))),
        }
    }
    Ok(())
}

/// Seeds: in order, reversed with replays, and with every kind of forgery.
pub(super) fn endpoint_batch_seeds() -> Vec<Vec<u8>> {
    let in_order: Vec<u8> = (0..8).flat_map(|i| [0, i]).collect();
    let reversed: Vec<u8> = (0..8).rev().flat_map(|i| [0, i, 0, i]).collect();
    let forged = vec![1, 3, 7, 0, 1, 2, 5, 0, 3, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 2, 0, 3, 2, 4];
    vec![in_order, reversed, forged]
}
