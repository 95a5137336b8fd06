//! A safety record store that fails on purpose, for the node host's tests
//! and the simulator.
//!
//! [`FaultySafetyStore`] wraps a [`SafetyStore`] (`inner`, standing for the
//! disk) and models a save as *write, then sync*: a save can fail outright
//! ([`SafetyFault::FailSave`]: nothing written) or be written and fail to
//! sync ([`SafetyFault::FailSync`]): the new record is then *unsynced* — a
//! power cut ([`FaultySafetyStore::power_cut`]) loses it and the previous
//! record is what a restart finds, while a process that died on a machine
//! that kept running may find it after all
//! ([`FaultySafetyStore::write_back`]). Either way the save reported an
//! error, so [`crate::PendingSend::persist`] released no message: what was
//! signed but never sent cannot be held against the validator.
//!
//! Faults are armed by the caller, fire once and are sticky (every later
//! save fails) until [`FaultySafetyStore::repair`]. Clones share the fault
//! state (the host holds one, the test or simulator another to arm and cut
//! power); `inner` is cloned, so give it shared storage too. No clock, no
//! randomness: the simulator draws faults from its seed.

use crate::safety::{SafetyRecord, SafetyStore};
use std::sync::{Arc, Mutex, MutexGuard};

/// A fault to inject into the next saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SafetyFault {
    /// The save after the next `after_saves` good ones fails; nothing is
    /// written.
    FailSave { after_saves: u64 },
    /// The save after the next `after_saves` good ones is written but its
    /// sync fails: the record is unsynced.
    FailSync { after_saves: u64 },
}

/// A fault that fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SafetyFaultFired {
    SaveFailed,
    SyncFailed,
}

impl std::fmt::Display for SafetyFaultFired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SafetyFaultFired::SaveFailed => "safety record save failed",
            SafetyFaultFired::SyncFailed => "safety record written, sync failed",
        })
    }
}

/// Why a save failed: an injected fault, or the wrapped store's own error.
#[derive(Debug, thiserror::Error)]
pub enum FaultySafetyError<E> {
    #[error("injected fault: {0}")]
    Injected(SafetyFaultFired),
    #[error("{0}")]
    Inner(E),
}

#[derive(Debug, Default)]
struct Faults {
    armed: Option<SafetyFault>,
    /// Good saves since the fault was armed.
    saves: u64,
    fired: Option<SafetyFaultFired>,
    /// Written, not synced.
    unsynced: Option<SafetyRecord>,
}

impl Faults {
    fn strikes(&self) -> Option<SafetyFaultFired> {
        match self.armed? {
            SafetyFault::FailSave { after_saves } if self.saves >= after_saves => {
                Some(SafetyFaultFired::SaveFailed)
            }
            SafetyFault::FailSync { after_saves } if self.saves >= after_saves => {
                Some(SafetyFaultFired::SyncFailed)
            }
            _ => None,
        }
    }
}

/// Wraps a safety record store with injected save and sync faults. See
/// the module docs.
#[derive(Debug, Clone)]
pub struct FaultySafetyStore<K> {
    inner: K,
    faults: Arc<Mutex<Faults>>,
}

impl<K: SafetyStore> FaultySafetyStore<K> {
    /// A wrapper with no fault armed.
    pub fn new(inner: K) -> Self {
        FaultySafetyStore {
            inner,
            faults: Arc::default(),
        }
    }

    /// Arm `fault` (replacing any armed one; one that already fired stays
    /// fired until [`FaultySafetyStore::repair`]).
    pub fn arm(&self, fault: SafetyFault) {
        let mut f = self.lock();
        f.armed = Some(fault);
        f.saves = 0;
    }

    /// Clear the armed and the fired fault. An unsynced record stays (the
    /// caller decides its fate first: power cut or write back).
    pub fn repair(&self) {
        let mut f = self.lock();
        f.armed = None;
        f.fired = None;
        f.saves = 0;
    }

    /// The fault that fired since the last repair, if any.
    pub fn fired(&self) -> Option<SafetyFaultFired> {
        self.lock().fired
    }

    /// Whether a fault is armed and has not fired yet.
    pub fn armed(&self) -> bool {
        let f = self.lock();
        f.armed.is_some() && f.fired.is_none()
    }

    /// The power goes: an unsynced record is lost. Whether one was.
    pub fn power_cut(&self) -> bool {
        self.lock().unsynced.take().is_some()
    }

    /// The process died, the machine did not: an unsynced record reaches
    /// the disk after all. Whether one did.
    pub fn write_back(&mut self) -> Result<bool, K::Error> {
        let unsynced = self.lock().unsynced.take();
        match unsynced {
            Some(record) => self.inner.persist(&record).map(|()| true),
            None => Ok(false),
        }
    }

    /// The wrapped store (what is durable).
    pub fn inner(&self) -> &K {
        &self.inner
    }

    fn lock(&self) -> MutexGuard<'_, Faults> {
        // Nothing panics while holding the lock.
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<K: SafetyStore> SafetyStore for FaultySafetyStore<K> {
    type Error = FaultySafetyError<K::Error>;

    fn persist(&mut self, record: &SafetyRecord) -> Result<(), Self::Error> {
        {
            let mut f = self.lock();
            if let Some(fired) = f.fired {
                return Err(FaultySafetyError::Injected(fired));
            }
            if let Some(fired) = f.strikes() {
                f.fired = Some(fired);
                if fired == SafetyFaultFired::SyncFailed {
                    f.unsynced = Some(record.clone());
                }
                return Err(FaultySafetyError::Injected(fired));
            }
            f.saves = f.saves.saturating_add(1);
            // A good save is synced: it supersedes an older unsynced one.
            f.unsynced = None;
        }
        self.inner.persist(record).map_err(FaultySafetyError::Inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[derive(Clone, Default)]
    struct Disk(Arc<Mutex<Option<SafetyRecord>>>);

    impl SafetyStore for Disk {
        type Error = Infallible;
        fn persist(&mut self, record: &SafetyRecord) -> Result<(), Infallible> {
            *self.0.lock().unwrap() = Some(record.clone());
            Ok(())
        }
    }

    fn at(height: u64) -> SafetyRecord {
        SafetyRecord {
            height,
            ..SafetyRecord::default()
        }
    }

    fn on_disk(store: &FaultySafetyStore<Disk>) -> Option<u64> {
        store.inner().0.lock().unwrap().as_ref().map(|r| r.height)
    }

    #[test]
    fn a_failed_save_writes_nothing_and_stays_failed_until_repaired() {
        let mut store = FaultySafetyStore::new(Disk::default());
        store.arm(SafetyFault::FailSave { after_saves: 1 });
        store.persist(&at(1)).unwrap();
        let err = store.persist(&at(2)).unwrap_err();
        assert!(matches!(
            err,
            FaultySafetyError::Injected(SafetyFaultFired::SaveFailed)
        ));
        assert!(store.persist(&at(3)).is_err(), "sticky");
        assert_eq!(on_disk(&store), Some(1));
        assert!(!store.power_cut(), "nothing was unsynced");
        store.repair();
        store.persist(&at(3)).unwrap();
        assert_eq!(on_disk(&store), Some(3));
    }

    #[test]
    fn an_unsynced_record_is_lost_to_a_power_cut_or_written_back() {
        let mut store = FaultySafetyStore::new(Disk::default());
        let handle = store.clone();
        store.persist(&at(1)).unwrap();
        handle.arm(SafetyFault::FailSync { after_saves: 0 });
        assert!(store.persist(&at(2)).is_err());
        assert_eq!(handle.fired(), Some(SafetyFaultFired::SyncFailed));
        assert_eq!(on_disk(&store), Some(1));
        assert!(handle.power_cut());
        assert_eq!(on_disk(&store), Some(1), "the previous record stays");

        handle.repair();
        handle.arm(SafetyFault::FailSync { after_saves: 0 });
        assert!(store.persist(&at(3)).is_err());
        let mut exit = handle.clone();
        assert!(exit.write_back().unwrap());
        assert_eq!(on_disk(&store), Some(3));
        assert!(!handle.power_cut());
    }
}
