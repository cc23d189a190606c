//! Seed inputs of the clinic target, written event by event (the opcode table is in
//! `clinic.rs`).

use super::clinic_setup::Dev;

/// Builds inputs event by event.
pub(super) struct Script(pub(super) Vec<u8>);

/// The operand naming a device.
fn dev(d: Dev) -> u8 {
    match d {
        Dev::Phone => 0,
        Dev::Desktop => 1,
        Dev::Client => 2,
    }
}

/// The operand naming a pair: the first device loses its sessions with the second.
fn pair(x: Dev, y: Dev) -> u8 {
    match (x, y) {
        (Dev::Phone, _) => 0,
        (Dev::Desktop, _) => 1,
        (Dev::Client, Dev::Phone) => 2,
        (Dev::Client, _) => 3,
    }
}

impl Script {
    pub(super) fn new() -> Self {
        Self(Vec::new())
    }
    pub(super) fn send(mut self, from: Dev) -> Self {
        self.0.extend_from_slice(&[0, dev(from)]);
        self
    }
    pub(super) fn deliver_oldest(mut self, to: Dev) -> Self {
        self.0.extend_from_slice(&[1, dev(to)]);
        self
    }
    pub(super) fn deliver_nth(mut self, which: u8) -> Self {
        self.0.extend_from_slice(&[2, which]);
        self
    }
    pub(super) fn drop_nth(mut self, which: u8) -> Self {
        self.0.extend_from_slice(&[3, which]);
        self
    }
    pub(super) fn replay(mut self, which: u8) -> Self {
        self.0.extend_from_slice(&[4, which]);
        self
    }
    pub(super) fn tamper(mut self, which: u8, at: u16, mask: u8) -> Self {
        let [hi, lo] = at.to_be_bytes();
        self.0.extend_from_slice(&[5, which, hi, lo, mask]);
        self
    }
    pub(super) fn advance(mut self, eighths_of_seconds: u8) -> Self {
        self.0.extend_from_slice(&[6, eighths_of_seconds]);
        self
    }
    pub(super) fn lose(mut self, x: Dev, y: Dev) -> Self {
        self.0.extend_from_slice(&[7, pair(x, y)]);
        self
    }
    pub(super) fn repair(mut self, x: Dev, y: Dev) -> Self {
        self.0.extend_from_slice(&[8, pair(x, y)]);
        self
    }
    pub(super) fn remove_desktop(mut self) -> Self {
        self.0.push(9);
        self
    }
    pub(super) fn flush(mut self, to: Dev) -> Self {
        self.0.extend_from_slice(&[10, dev(to)]);
        self
    }
}

/// Scripted runs: in order, out of order with loss, hostile, every pair losing its sessions and
/// repaired (before and after more messages), a removal with envelopes in flight, and a long one.
pub(super) fn seeds() -> Vec<Vec<u8>> {
    use Dev::{Client, Desktop, Phone};
    let in_order = Script::new()
        .send(Phone)
        .flush(Client)
        .flush(Desktop)
        .send(Desktop)
        .flush(Client)
        .flush(Phone)
        .send(Client)
        .flush(Phone)
        .flush(Desktop);
    let shuffled = Script::new()
        .send(Client)
        .send(Phone)
        .send(Desktop)
        .send(Client)
        .deliver_nth(5)
        .deliver_nth(3)
        .drop_nth(1)
        .send(Phone)
        .deliver_nth(4)
        .deliver_oldest(Desktop)
        .advance(40)
        .send(Desktop)
        .deliver_nth(2);
    let hostile = Script::new()
        .send(Phone)
        .tamper(0, 40, 1)
        .tamper(0, 1000, 0x80)
        .deliver_oldest(Client)
        .replay(0)
        .send(Client)
        .tamper(0, 2, 4)
        .tamper(1, 300, 0xff)
        .flush(Phone)
        .flush(Desktop)
        .replay(1)
        .replay(2)
        .send(Desktop)
        .tamper(1, 0, 1)
        .deliver_nth(0)
        .replay(3);
    let mut seeds = vec![Script::new(), in_order, shuffled, hostile];
    for (x, y) in [(Phone, Client), (Desktop, Client), (Client, Phone), (Client, Desktop)] {
        let lost = Script::new()
            .send(Phone)
            .send(Client)
            .send(Desktop)
            .deliver_nth(0)
            .lose(x, y)
            .send(y)
            .send(x)
            .send(Client)
            .deliver_nth(1)
            .deliver_nth(0)
            .repair(x, y)
            .flush(x)
            .send(x)
            .send(y)
            .flush(y)
            .lose(x, y)
            .send(y)
            .repair(x, y)
            .deliver_nth(3)
            .drop_nth(2);
        seeds.push(lost);
    }
    let removal = Script::new()
        .send(Client)
        .send(Desktop)
        .send(Phone)
        .deliver_oldest(Phone)
        .remove_desktop()
        .send(Desktop)
        .send(Client)
        .send(Phone)
        .lose(Client, Desktop)
        .repair(Desktop, Client)
        .flush(Client)
        .flush(Desktop)
        .flush(Phone);
    seeds.push(removal);
    let mut long = Script::new();
    for round in 0..20u8 {
        long = long.send(Dev::from_byte(round)).send(Client).deliver_nth(round).deliver_nth(round / 2);
        if round % 4 == 0 {
            long = long.drop_nth(round).replay(round);
        }
        if round % 7 == 3 {
            long = long.lose(Client, Phone).send(Phone).repair(Client, Phone);
        }
        if round % 6 == 5 {
            long = long.advance(30).tamper(round, u16::from(round) * 13, round | 1);
        }
    }
    seeds.push(long.flush(Client));
    seeds.into_iter().map(|s| s.0).collect()
}

#[cfg(test)]
mod tests {
    use super::super::clinic::run_with_stats;
    use super::*;

    #[test]
    fn seeds_reach_repairs_refusals_and_the_removal() {
        let stats: Vec<_> = seeds().iter().map(|s| run_with_stats(s).unwrap()).collect();
        assert_eq!(stats[0].received, 0, "{:?}", stats[0]);
        assert!(stats[1].received >= 6, "{:?}", stats[1]);
        assert!(stats[3].refused >= 6, "{:?}", stats[3]);
        for lost in &stats[4..8] {
            assert!(lost.repairs >= 2 && lost.resent >= 4, "{lost:?}");
        }
        assert!(stats[8].removed && stats[8].refused >= 2, "{:?}", stats[8]);
        assert!(stats[9].repairs >= 2, "{:?}", stats[9]);
    }
}
