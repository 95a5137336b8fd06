//! What the load generator sends: the kinds of transactions with their
//! relative weights, which cooperatives' members pay (also weighted), and
//! the money rules' story besides: a cashback programme the cooperatives
//! vote in at setup, and one surplus-share payout during the run.
//! `kopnet testnet up` and `kopnet bench` use [`Mix::default`]; a runner
//! manifest's `[load] mix` and `[load] coops` set their own (without the
//! cashback programme and the payout: only the kinds it names).

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
    /// A merchant requests a payment from a member (`RequestPayment`),
    /// and the member pays it once the request commits (`PayRequest`).
    RequestToPay,
    /// A micro merchant refunds part of a recent payment it received.
    Refund,
}

impl LoadKind {
    pub const ALL: [LoadKind; 8] = [
        LoadKind::CrossCoopPayment,
        LoadKind::OnUsPayment,
        LoadKind::MemberTransfer,
        LoadKind::TaxiAtConsumerCoop,
        LoadKind::CashIn,
        LoadKind::CashOut,
        LoadKind::RequestToPay,
        LoadKind::Refund,
    ];

    /// Names used in manifests.
    pub const NAMES: [&'static str; 8] = [
        "cross_coop_payment",
        "on_us_payment",
        "member_transfer",
        "taxi_at_consumer_coop",
        "cash_in",
        "cash_out",
        "request_to_pay",
        "refund",
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
            // The request; the payment that follows is `request_paid`.
            LoadKind::RequestToPay => "payment_request",
            LoadKind::Refund => "refund",
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
    /// Vote in the demo's cashback programme at setup (see
    /// `traffic::cashback`).
    pub cashback: bool,
    /// This many seconds into the load, every cooperative pays its members
    /// a surplus share (`traffic::payout`); None: no payout.
    pub payout_after_secs: Option<u64>,
}

/// When the default mix's payout goes: 3 s into the load (before the first
/// settlement window of a short run closes).
pub const PAYOUT_AFTER_SECS: u64 = 3;

impl Default for Mix {
    /// The demo story: mostly cross-cooperative merchant payments, the
    /// cashback programme and a payout.
    fn default() -> Mix {
        let weights = [55, 8, 10, 7, 10, 10, 5, 3];
        Mix {
            kinds: LoadKind::ALL.into_iter().zip(weights).collect(),
            coops: BTreeMap::new(),
            cashback: true,
            payout_after_secs: Some(PAYOUT_AFTER_SECS),
        }
    }
}

impl Mix {
    /// A kind drawn by weight, or None if every weight is 0.
    pub fn pick_kind(&self, rng: &mut impl Rng) -> Option<LoadKind> {
        pick_weighted(rng, self.kinds.iter().map(|(k, w)| (*k, *w)))
    }

    /// An index into `ids` drawn by the cooperative weights.
    pub fn pick_coop(&self, rng: &mut impl Rng, ids: &[impl AsRef<str>]) -> Option<usize> {
        if self.coops.is_empty() {
            return (!ids.is_empty()).then(|| rng.gen_range(0..ids.len()));
        }
        let weights = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (i, self.coops.get(id.as_ref()).copied().unwrap_or(0)));
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
            cashback: false,
            payout_after_secs: None,
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
