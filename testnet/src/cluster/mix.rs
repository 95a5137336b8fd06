//! What the load generator sends: the kinds of transactions with their
//! relative weights, and which cooperatives' members pay (also weighted).
//! `kopnet testnet up` and `kopnet bench` use [`Mix::default`]; a runner
//! manifest's `[load] mix` and `[load] coops` set their own.

use rand::Rng;
use std::collections::BTreeMap;

/// A kind of load transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LoadKind {
    /// A member pays a merchant of another cooperative.
    CrossCoopPayment,
    /// A member pays a merchant of its own cooperative.
    OnUsPayment,
    /// A member sends money to a member of another cooperative.
    MemberTransfer,
    /// A taxi cooperative's member pays at the consumer cooperative's shop.
    TaxiAtConsumerCoop,
    /// Cash deposited for a member at another cooperative's counter.
    CashIn,
    /// A member withdraws cash at another cooperative's counter.
    CashOut,
}

impl LoadKind {
    pub const ALL: [LoadKind; 6] = [
        LoadKind::CrossCoopPayment,
        LoadKind::OnUsPayment,
        LoadKind::MemberTransfer,
        LoadKind::TaxiAtConsumerCoop,
        LoadKind::CashIn,
        LoadKind::CashOut,
    ];

    /// Names used in manifests.
    pub const NAMES: [&'static str; 6] = [
        "cross_coop_payment",
        "on_us_payment",
        "member_transfer",
        "taxi_at_consumer_coop",
        "cash_in",
        "cash_out",
    ];

    pub fn parse(name: &str) -> Option<LoadKind> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The label committed transactions of this kind are counted under.
    pub fn label(self) -> &'static str {
        match self {
            LoadKind::CrossCoopPayment => "merchant_payment_cross",
            LoadKind::OnUsPayment => "merchant_payment_on_us",
            LoadKind::MemberTransfer => "member_transfer",
            LoadKind::TaxiAtConsumerCoop => "taxi_driver_at_consumer_coop",
            LoadKind::CashIn => "cash_in_other_counter",
            LoadKind::CashOut => "cash_out_other_counter",
        }
    }
}

/// Relative weights of kinds and of paying cooperatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    /// Weight of each kind; a kind that is absent or 0 is never sent.
    pub kinds: BTreeMap<LoadKind, u32>,
    /// Weight of each cooperative (by id) as the paying side; cooperatives
    /// not listed get weight 0 unless the map is empty (then all are equal).
    pub coops: BTreeMap<String, u32>,
}

impl Default for Mix {
    /// The demo story: mostly cross-cooperative merchant payments.
    fn default() -> Mix {
        let weights = [55, 8, 10, 7, 10, 10];
        Mix {
            kinds: LoadKind::ALL.into_iter().zip(weights).collect(),
            coops: BTreeMap::new(),
        }
    }
}

impl Mix {
    /// A kind drawn by weight, or None if every weight is 0.
    pub fn pick_kind(&self, rng: &mut impl Rng) -> Option<LoadKind> {
        pick_weighted(rng, self.kinds.iter().map(|(k, w)| (*k, *w)))
    }

    /// An index into `ids` drawn by the cooperative weights.
    pub fn pick_coop(&self, rng: &mut impl Rng, ids: &[&str]) -> Option<usize> {
        if self.coops.is_empty() {
            return (!ids.is_empty()).then(|| rng.gen_range(0..ids.len()));
        }
        let weights = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (i, self.coops.get(*id).copied().unwrap_or(0)));
        pick_weighted(rng, weights)
    }
}

fn pick_weighted<T: Copy>(
    rng: &mut impl Rng,
    items: impl Iterator<Item = (T, u32)> + Clone,
) -> Option<T> {
    let total: u64 = items.clone().map(|(_, w)| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut roll = rng.gen_range(0..total);
    for (item, weight) in items {
        let weight = u64::from(weight);
        if roll < weight {
            return Some(item);
        }
        roll -= weight;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn draws_follow_the_weights_and_zero_never_comes_up() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mix = Mix {
            kinds: [
                (LoadKind::CashIn, 3),
                (LoadKind::CashOut, 1),
                (LoadKind::OnUsPayment, 0),
            ]
            .into_iter()
            .collect(),
            coops: [("a".to_string(), 1), ("b".to_string(), 0)]
                .into_iter()
                .collect(),
        };
        let mut counts: BTreeMap<LoadKind, u32> = BTreeMap::new();
        for _ in 0..4_000 {
            *counts.entry(mix.pick_kind(&mut rng).unwrap()).or_default() += 1;
        }
        assert!(!counts.contains_key(&LoadKind::OnUsPayment));
        let (cash_in, cash_out) = (counts[&LoadKind::CashIn], counts[&LoadKind::CashOut]);
        assert!((2_800..3_200).contains(&cash_in), "{cash_in}");
        assert_eq!(cash_in + cash_out, 4_000);
        for _ in 0..100 {
            assert_eq!(mix.pick_coop(&mut rng, &["a", "b", "c"]), Some(0));
        }
        let uniform = Mix::default();
        let picks: std::collections::BTreeSet<usize> = (0..100)
            .filter_map(|_| uniform.pick_coop(&mut rng, &["a", "b", "c"]))
            .collect();
        assert_eq!(picks.len(), 3);
    }

    #[test]
    fn names_round_trip() {
        for (kind, name) in LoadKind::ALL.into_iter().zip(LoadKind::NAMES) {
            assert_eq!(LoadKind::parse(name), Some(kind));
        }
        assert_eq!(LoadKind::parse("teleport"), None);
    }
}
