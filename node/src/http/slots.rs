//! Counted slots per client address with a total cap: open connections and
//! open event streams. A slot is held by a guard and freed when the guard
//! drops. The table holds only addresses that hold a slot, so it never
//! has more entries than the total cap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a slot was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRefusal {
    /// Every slot is taken.
    Total,
    /// This address holds its share.
    PerAddress,
}

#[derive(Debug, Default)]
struct Table {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Slots, at most `total_max` in all and `per_address_max` per address.
#[derive(Debug, Clone)]
pub struct AddressSlots {
    total_max: usize,
    per_address_max: usize,
    table: Arc<Mutex<Table>>,
}

/// A held slot; dropping it frees the slot.
#[derive(Debug)]
pub struct SlotGuard {
    address: Option<IpAddr>,
    table: Arc<Mutex<Table>>,
}

impl AddressSlots {
    pub fn new(total_max: usize, per_address_max: usize) -> Self {
        AddressSlots {
            total_max,
            per_address_max: per_address_max.max(1),
            table: Arc::default(),
        }
    }

    /// Take a slot for `address` (`None`: counts only in the total).
    pub fn take(&self, address: Option<IpAddr>) -> Result<SlotGuard, SlotRefusal> {
        // A poisoned lock refuses: the holder panicked mid-count.
        let mut table = self.table.lock().map_err(|_| SlotRefusal::Total)?;
        if table.total >= self.total_max {
            return Err(SlotRefusal::Total);
        }
        if let Some(address) = address {
            let held = table.by_address.entry(address).or_insert(0);
            if *held >= self.per_address_max {
                return Err(SlotRefusal::PerAddress);
            }
            *held = held.saturating_add(1);
        }
        table.total = table.total.saturating_add(1);
        Ok(SlotGuard {
            address,
            table: self.table.clone(),
        })
    }

    /// Slots held now.
    pub fn held(&self) -> usize {
        self.table.lock().map(|t| t.total).unwrap_or(0)
    }

    /// Addresses holding a slot now.
    pub fn addresses(&self) -> usize {
        self.table.lock().map(|t| t.by_address.len()).unwrap_or(0)
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let Ok(mut table) = self.table.lock() else {
            return;
        };
        table.total = table.total.saturating_sub(1);
        if let Some(address) = self.address {
            if let Some(held) = table.by_address.get_mut(&address) {
                *held = held.saturating_sub(1);
                if *held == 0 {
                    table.by_address.remove(&address);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_total_and_per_address_and_frees_on_drop() {
        let slots = AddressSlots::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = slots.take(Some(a)).unwrap();
        let _a2 = slots.take(Some(a)).unwrap();
        assert_eq!(slots.take(Some(a)).unwrap_err(), SlotRefusal::PerAddress);
        let _b1 = slots.take(Some(b)).unwrap();
        assert_eq!(slots.take(Some(b)).unwrap_err(), SlotRefusal::Total);
        assert_eq!(slots.held(), 3);
        drop(a1);
        assert_eq!(slots.held(), 2);
        let _b2 = slots.take(Some(b)).unwrap();
        drop(_b1);
        drop(_b2);
        // An address holding nothing leaves the table.
        assert_eq!(slots.addresses(), 1);
    }
}
