//! Each cooperative's demo state (its key, its node, its members and
//! merchants) and the setup that registers the demo accounts and mints
//! their opening balances. Merchants are registered with a class
//! (`RegisterMerchant`), in turn [`DEMO_MERCHANT_CLASSES`] at each
//! cooperative: micro first and large second, so that every cooperative
//! with two merchants (the fewest `testnet up` and the bench make) has a
//! micro and a large one. The class selects the merchant's fees (micro: free
//! up to Rp500.000) and whether its payments earn cashback.

use super::{Signer, Traffic, TrafficError};
use kopnet_ledger::{AccountKind, Action, CoopId, KycTier, MerchantClass};
use kopnet_node::api::client::{Client, ClientError};
use std::sync::Mutex;
use std::time::Duration;

/// Opening balance of each demo member: Rp 2.000.000.
pub const OPENING_BALANCE: u64 = 2_000_000;
/// Setup transactions of one cooperative sent before waiting for them
/// (within one batch request and below the per-signer mempool window).
const SETUP_CHUNK_TXS: usize = 128;
/// How long one setup transaction gets to commit.
const SETUP_COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The classes of a cooperative's demo merchants, in turn.
pub const DEMO_MERCHANT_CLASSES: [MerchantClass; 3] = [
    MerchantClass::Micro,
    MerchantClass::Large,
    MerchantClass::Small,
];

/// The class of a cooperative's `ordinal`-th demo merchant.
pub fn merchant_class(ordinal: usize) -> MerchantClass {
    DEMO_MERCHANT_CLASSES
        .get(ordinal % DEMO_MERCHANT_CLASSES.len())
        .copied()
        .unwrap_or(MerchantClass::UNSPECIFIED)
}

/// Shop names for the demo merchants, in turn.
const DEMO_MERCHANT_SHOPS: [&str; 6] = ["Warung", "Toko", "Bakso", "Kios", "Apotek", "Bengkel"];

/// The public name of a cooperative's `ordinal`-th demo merchant, e.g.
/// "Warung 1 ksp-sejahtera": at most 25 printable ASCII characters (see
/// `kopnet_ledger::merchant_names`).
pub fn demo_merchant_name(coop: &CoopId, ordinal: usize) -> String {
    let shop = DEMO_MERCHANT_SHOPS
        .get(ordinal % DEMO_MERCHANT_SHOPS.len())
        .copied()
        .unwrap_or("Toko");
    let mut name = format!("{shop} {} {}", ordinal + 1, coop.as_str());
    name.truncate(kopnet_ledger::merchant_names::MERCHANT_NAME_BYTES_MAX);
    name.trim_end().to_string()
}

/// One cooperative with its key, node and demo accounts.
#[derive(Debug)]
pub struct CoopDemo {
    pub id: CoopId,
    pub node: Client,
    pub signer: Mutex<Signer>,
    /// Its members, as indices into `Traffic::accounts`.
    pub members: Vec<usize>,
    /// Its merchants, as indices into `Traffic::accounts`.
    pub merchants: Vec<usize>,
}

impl CoopDemo {
    /// A failed request to this cooperative's node, with the cooperative named.
    pub(super) fn node_error(&self, error: ClientError) -> TrafficError {
        TrafficError::Node {
            coop: self.id.to_string(),
            error,
        }
    }

    /// Wait for a setup transaction sent to this cooperative's node; an
    /// error unless it committed and applied.
    pub(super) async fn wait_applied(
        &self,
        hash: &kopnet_consensus::Hash,
        timeout: std::time::Duration,
    ) -> Result<(), TrafficError> {
        let outcome = self
            .node
            .wait(hash, timeout)
            .await
            .map_err(|e| self.node_error(e))?;
        if outcome.ok() {
            Ok(())
        } else {
            Err(TrafficError::SetupRejected {
                coop: self.id.to_string(),
                hash: hash.to_hex(),
                code: outcome.code,
            })
        }
    }

    fn poisoned(&self) -> TrafficError {
        TrafficError::Poisoned {
            coop: self.id.to_string(),
        }
    }

    /// Continue signing from the node's next nonce for this cooperative.
    pub(super) async fn resync_from_node(&self) -> Result<(), TrafficError> {
        let key = self
            .signer
            .lock()
            .map_err(|_| self.poisoned())?
            .key
            .public();
        let nonce = self
            .node
            .next_nonce(&key)
            .await
            .map_err(|e| self.node_error(e))?;
        self.signer
            .lock()
            .map_err(|_| self.poisoned())?
            .resync(nonce);
        Ok(())
    }

    /// Nothing of this cooperative is in flight any more.
    pub(super) fn idle(&self) -> Result<(), TrafficError> {
        self.signer.lock().map_err(|_| self.poisoned())?.in_flight = 0;
        Ok(())
    }
}

impl Traffic {
    /// Register every demo account and mint opening balances; wait for all;
    /// then, if the mix has it, vote in the cashback programme
    /// ([`super::cashback`]).
    pub async fn setup(&mut self) -> Result<(), TrafficError> {
        for coop in &self.coops {
            coop.resync_from_node().await?;
        }
        // Each cooperative's setup goes in chunks of SETUP_CHUNK_TXS, each
        // waited for, so no chunk goes past the node's per-signer window
        // (a cooperative with many members would otherwise see its later
        // registrations refused as future_nonce).
        let plans: Vec<Vec<Action>> = self.coops.iter().map(|c| self.setup_plan(c)).collect();
        let rounds = plans
            .iter()
            .map(|p| p.len().div_ceil(SETUP_CHUNK_TXS))
            .max()
            .unwrap_or(0);
        for round in 0..rounds {
            self.setup_round(&plans, round).await?;
        }
        // Every setup transaction has landed: none is in flight any more.
        for coop in &self.coops {
            coop.idle()?;
        }
        if self.mix.cashback {
            self.vote_in_cashback().await?;
        }
        // The cooperatives' net debit headroom, before any cross-
        // cooperative transaction is planned.
        self.read_exposures().await?;
        Ok(())
    }

    /// A cooperative's setup: register each member (and mint its opening
    /// balance) and each merchant with its class (and set its public name).
    fn setup_plan(&self, coop: &CoopDemo) -> Vec<Action> {
        let mut actions = Vec::new();
        for &index in coop.members.iter().chain(&coop.merchants) {
            let merchant = coop.merchants.contains(&index);
            let member = self.accounts[index].0;
            actions.push(match self.classes.get(index).copied().flatten() {
                Some(class) if merchant => Action::RegisterMerchant {
                    merchant: member,
                    tier: KycTier::Business,
                    class,
                },
                _ => Action::RegisterMember {
                    member,
                    kind: AccountKind::Member,
                    tier: KycTier::Registered,
                },
            });
            if merchant {
                // Its public name on the ledger, so wallets paying it show
                // the cooperative's name for it, not only the QR code's.
                let ordinal = coop.merchants.iter().position(|&m| m == index).unwrap_or(0);
                actions.push(Action::SetMerchantName {
                    merchant: member,
                    name: demo_merchant_name(&coop.id, ordinal),
                });
            } else {
                actions.push(Action::Mint {
                    member,
                    amount: OPENING_BALANCE,
                });
            }
        }
        actions
    }

    /// Chunk `round` of every cooperative's plan: sent in one batch per
    /// cooperative, then each transaction waited for.
    pub(super) async fn setup_round(
        &self,
        plans: &[Vec<Action>],
        round: usize,
    ) -> Result<(), TrafficError> {
        let mut hashes = Vec::new();
        for (c, actions) in plans.iter().enumerate() {
            let coop = self.coops.get(c).ok_or(TrafficError::NoSuchCoop(c))?;
            let chunk = actions
                .iter()
                .skip(round * SETUP_CHUNK_TXS)
                .take(SETUP_CHUNK_TXS);
            let txs = chunk
                .map(|action| {
                    self.sign_coop(c, action.clone())
                        .ok_or_else(|| TrafficError::Sign {
                            coop: coop.id.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if txs.is_empty() {
                continue;
            }
            let results = coop
                .node
                .submit_batch(&txs)
                .await
                .map_err(|e| coop.node_error(e))?;
            for result in results {
                hashes.push((coop, result.map_err(|e| coop.node_error(e))?));
            }
        }
        for (coop, hash) in hashes {
            coop.wait_applied(&hash, SETUP_COMMIT_TIMEOUT).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{demo_merchant_name, merchant_class};
    use kopnet_ledger::merchant_names::check_name_format;
    use kopnet_ledger::testkit::DEMO_COOPERATIVES;
    use kopnet_ledger::CoopId;
    use kopnet_ledger::MerchantClass;

    /// Two merchants (the fewest a cooperative gets) are a micro and a
    /// large one; then small, and round again.
    #[test]
    fn merchant_classes_go_round_micro_large_small() {
        let classes: Vec<MerchantClass> = (0..4).map(merchant_class).collect();
        assert_eq!(
            classes,
            [
                MerchantClass::Micro,
                MerchantClass::Large,
                MerchantClass::Small,
                MerchantClass::Micro
            ]
        );
    }

    /// Every demo merchant's name passes the ledger's format rule (the
    /// setup would otherwise stop at a malformed transaction).
    #[test]
    fn demo_merchant_names_are_valid_ledger_names() {
        for (slug, _) in DEMO_COOPERATIVES {
            let coop = CoopId::new(slug).unwrap();
            for ordinal in 0..20 {
                let name = demo_merchant_name(&coop, ordinal);
                assert_eq!(check_name_format(&name), Ok(()), "{name:?}");
                assert!(!name.is_empty());
            }
        }
        let long = CoopId::new("koperasi-panjang").unwrap();
        assert_eq!(demo_merchant_name(&long, 0), "Warung 1 koperasi-panjang");
    }
}
