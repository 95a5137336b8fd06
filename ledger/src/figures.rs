//! Per-block figures kept up to date by the ledger's single writer: the sum
//! of every balance and the member and merchant accounts homed at each
//! cooperative.
//!
//! Why: both are sums over every member account, so answering them by
//! scanning the state costs time in proportion to the number of members —
//! once per HTTP request before, which a handful of readers could turn into
//! the node's main work. The ledger instead moves these figures with each
//! block's writes ([`Figures::apply`]: subtract a written key's old value,
//! add its new one), which costs time in proportion to the block, and the
//! node publishes them once per block (`kopnet-node`'s committed view).
//!
//! Moving a sum by the old and new value of every written key gives exactly
//! the sum a full scan would (addition is linear), so the conservation check
//! made with these figures ([`crate::invariants::check_with`]) is as strong
//! as the full one ([`crate::invariants::check`]); a unit test holds the two
//! equal after blocks. [`Figures::of`] is the full scan, run when the ledger
//! is opened.

use crate::state::{StateKey, StateRead, StateValue};
use crate::types::{AccountKind, CoopId};
use std::collections::BTreeMap;

/// Accounts homed at one cooperative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HomeCount {
    pub members: u64,
    pub merchants: u64,
}

/// Sums over the whole state, moved block by block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Σ member balances + Σ internal balances (fees, floats, network fund).
    pub balances: u128,
    /// Member accounts of either kind.
    pub accounts: u64,
    /// Accounts by home cooperative.
    pub homes: BTreeMap<CoopId, HomeCount>,
    /// A sum left its range: the figures cannot be trusted (a ledger bug;
    /// [`crate::invariants::check_with`] reports it as an overflow).
    pub overflowed: bool,
}

impl Figures {
    /// The figures of `state`, by scanning it once.
    pub fn of<'a>(entries: impl Iterator<Item = (&'a StateKey, &'a StateValue)>) -> Figures {
        let mut figures = Figures::default();
        for (_, value) in entries {
            figures.count(value, true);
        }
        figures
    }

    /// Move the figures by `writes` (`None` deletes) about to be applied on
    /// top of `before`: the old value of each written key leaves the sums
    /// and the new one enters them.
    pub fn apply<B: StateRead + ?Sized>(
        &mut self,
        before: &B,
        writes: &BTreeMap<StateKey, Option<StateValue>>,
    ) {
        for (key, value) in writes {
            self.apply_one(before, key, value.as_ref());
        }
    }

    /// [`Figures::apply`] for one key.
    pub fn apply_one<B: StateRead + ?Sized>(
        &mut self,
        before: &B,
        key: &StateKey,
        value: Option<&StateValue>,
    ) {
        if !matches!(key, StateKey::Member(_) | StateKey::Balance(_)) {
            return;
        }
        if let Some(old) = before.get_ref(key) {
            self.count(old, false);
        }
        if let Some(new) = value {
            self.count(new, true);
        }
    }

    /// Add (`add`) or take away one value's share.
    fn count(&mut self, value: &StateValue, add: bool) {
        let (balance, home) = match value {
            StateValue::Member(m) => (m.balance, Some((&m.home, m.kind))),
            StateValue::Balance(b) => (*b, None),
            _ => return,
        };
        let step = |sum: u128, by: u128| {
            if add {
                sum.checked_add(by)
            } else {
                sum.checked_sub(by)
            }
        };
        let step64 = |sum: u64| {
            if add {
                sum.checked_add(1)
            } else {
                sum.checked_sub(1)
            }
        };
        let mut ok = true;
        match step(self.balances, u128::from(balance)) {
            Some(sum) => self.balances = sum,
            None => ok = false,
        }
        if let Some((home, kind)) = home {
            match step64(self.accounts) {
                Some(n) => self.accounts = n,
                None => ok = false,
            }
            let count = self.homes.entry(home.clone()).or_default();
            let slot = match kind {
                AccountKind::Member => &mut count.members,
                AccountKind::Merchant => &mut count.merchants,
            };
            match step64(*slot) {
                Some(n) => *slot = n,
                None => ok = false,
            }
            if *count == HomeCount::default() {
                // As a fresh scan would have it: no entry for no accounts.
                self.homes.remove(home);
            }
        }
        self.overflowed |= !ok;
    }

    /// Accounts homed at `coop`.
    pub fn home(&self, coop: &CoopId) -> HomeCount {
        self.homes.get(coop).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Overlay, State};
    use crate::testkit::key_for;
    use crate::types::{AccountId, AccountStatus, KycTier, MemberAccount};

    fn member(home: &str, kind: AccountKind, balance: u64) -> StateValue {
        StateValue::Member(MemberAccount {
            home: CoopId::new(home).unwrap(),
            kind,
            status: AccountStatus::Active,
            tier: KycTier::Basic,
            balance,
            nonce: 0,
            registered_at_height: 1,
            key: key_for(home).public(),
            incoming: None,
            class: None,
        })
    }

    #[test]
    fn moving_by_writes_equals_a_fresh_scan() {
        let mut state = State::default();
        let ani = StateKey::Member(key_for("ani").public());
        let budi = StateKey::Member(key_for("budi").public());
        let fee = StateKey::Balance(AccountId::NetworkFund);
        state.insert(ani.clone(), member("ksp-a", AccountKind::Member, 500));
        state.insert(fee.clone(), StateValue::Balance(7));
        let mut figures = Figures::of(state.iter());
        assert_eq!(figures.balances, 507);
        assert_eq!(figures.home(&CoopId::new("ksp-a").unwrap()).members, 1);

        let mut block = Overlay::new(&state);
        block.put(ani.clone(), member("ksp-a", AccountKind::Member, 300));
        block.put(budi.clone(), member("ksp-b", AccountKind::Merchant, 200));
        block.put(fee.clone(), StateValue::Balance(9));
        let writes = block.into_writes();
        figures.apply(&state, &writes);
        state.apply(&writes);
        assert_eq!(figures, Figures::of(state.iter()));
        assert_eq!(figures.balances, 509);
        assert_eq!(figures.accounts, 2);
        assert_eq!(figures.home(&CoopId::new("ksp-b").unwrap()).merchants, 1);

        let mut deletes = BTreeMap::new();
        deletes.insert(budi, None);
        figures.apply(&state, &deletes);
        state.apply(&deletes);
        assert_eq!(figures, Figures::of(state.iter()));
        assert!(!figures.overflowed);
    }

    #[test]
    fn a_sum_below_zero_is_flagged_not_wrapped() {
        let mut figures = Figures::default();
        let mut before = State::default();
        let key = StateKey::Balance(AccountId::NetworkFund);
        before.insert(key.clone(), StateValue::Balance(5));
        // Figures that never saw the old value cannot take it away.
        figures.apply_one(&before, &key, None);
        assert!(figures.overflowed);
        assert_eq!(figures.balances, 0);
    }
}
