//! Cases planted for the regulator's desk (`kopnet audit report` on the
//! observer): three accounts of the first cooperative, outside the demo
//! load, whose cash the observer must report or flag, while the ordinary
//! demo accounts raise no flag.
//!
//! - **Cash over the threshold**: a cash-in of [`CASH_IN_OVER_THRESHOLD`]
//!   at the second cooperative's counter, by its teller (the local
//!   network's threshold is Rp10.000.000:
//!   `layout::DEMO_CASH_REPORT_THRESHOLD`).
//! - **Structuring**: [`STRUCTURING_PIECES`] deposits of
//!   [`STRUCTURING_PIECE`] each, just under the threshold, at the home
//!   counter.
//! - **Dormant awakening**: a deposit of Rp1.000.000 at setup, then nothing
//!   until [`DORMANT_WAKE_AFTER`] later, when [`DORMANT_WAKE_AMOUNT`] is
//!   deposited (the demo observer calls an account dormant after 45 s:
//!   `AuditConfig::demo`).
//!
//! The accounts are registered at the business tier (balance cap
//! Rp100.000.000, no monthly incoming cap). Each cooperative's counter is
//! served by a teller of its own ([`AuditCases::plant`] adds it), so the
//! cases never share a nonce with the load's cooperative signers, and the
//! report shows the tellers. The cash-in at another counter is a net debit
//! of that cooperative; the load reads the exposures again afterwards.

use super::{CoopDemo, Traffic, TrafficError};
use kopnet_consensus::{Keypair, PublicKey};
use kopnet_ledger::{AccountKind, Action, KycTier, Transaction, TxBody};
use std::time::Duration;

/// The cash-in over the local threshold: Rp12.000.000.
pub const CASH_IN_OVER_THRESHOLD: u64 = 12_000_000;
/// One structuring piece: Rp9.000.000 (90 % of the local threshold).
pub const STRUCTURING_PIECE: u64 = 9_000_000;
/// How many pieces.
pub const STRUCTURING_PIECES: usize = 3;
/// The dormant account's first deposit.
pub const DORMANT_FIRST_AMOUNT: u64 = 1_000_000;
/// What it deposits when it wakes: Rp35.000.000.
pub const DORMANT_WAKE_AMOUNT: u64 = 35_000_000;
/// How long after its first deposit it wakes (the demo observer's
/// dormancy is 45 s).
pub const DORMANT_WAKE_AFTER: Duration = Duration::from_secs(55);
/// How long one planted transaction gets to commit.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The planted accounts and the tellers that serve them.
#[derive(Debug)]
pub struct AuditCases {
    pub cash_in_over_threshold: PublicKey,
    pub structuring: PublicKey,
    pub dormant: PublicKey,
    /// The home cooperative's teller (index 0) and the other counter's
    /// (index 1), with their next nonces.
    tellers: [(Keypair, std::sync::Mutex<u64>); 2],
}

impl AuditCases {
    /// Register the accounts and tellers and send every case but the
    /// dormant account's waking (see [`AuditCases::wake_dormant`]). Needs
    /// two cooperatives; run after [`Traffic::setup`], before the load.
    pub async fn plant(traffic: &Traffic) -> Result<AuditCases, TrafficError> {
        let home = traffic.coops.first().ok_or(TrafficError::NoSuchCoop(0))?;
        let agent = traffic.coops.get(1).ok_or(TrafficError::NoSuchCoop(1))?;
        let fresh = || Keypair::generate(&mut rand::rngs::OsRng);
        let cases = AuditCases {
            cash_in_over_threshold: fresh().public(),
            structuring: fresh().public(),
            dormant: fresh().public(),
            tellers: [(fresh(), 1.into()), (fresh(), 1.into())],
        };
        // The cooperatives register the accounts and a teller each.
        let mut home_txs = Vec::new();
        for member in [
            cases.cash_in_over_threshold,
            cases.structuring,
            cases.dormant,
        ] {
            home_txs.push(Action::RegisterMember {
                member,
                kind: AccountKind::Member,
                tier: KycTier::Business,
            });
        }
        home_txs.push(add_teller(&cases.tellers[0].0));
        let home_txs = sign_all(traffic, 0, home_txs)?;
        let agent_txs = sign_all(traffic, 1, vec![add_teller(&cases.tellers[1].0)])?;
        send_and_wait(home, &home_txs).await?;
        send_and_wait(agent, &agent_txs).await?;
        home.idle()?;
        agent.idle()?;
        // The cash: the other counter's cash-in, the home counter's pieces
        // and the dormant account's first deposit.
        let cash_in = cases.teller_tx(
            traffic,
            1,
            Action::CashIn {
                agent: agent.id.clone(),
                member: cases.cash_in_over_threshold,
                amount: CASH_IN_OVER_THRESHOLD,
            },
        )?;
        send_and_wait(agent, &[cash_in]).await?;
        let mut deposits = Vec::new();
        for _ in 0..STRUCTURING_PIECES {
            deposits.push(cases.teller_tx(
                traffic,
                0,
                Action::Mint {
                    member: cases.structuring,
                    amount: STRUCTURING_PIECE,
                },
            )?);
        }
        deposits.push(cases.teller_tx(
            traffic,
            0,
            Action::Mint {
                member: cases.dormant,
                amount: DORMANT_FIRST_AMOUNT,
            },
        )?);
        send_and_wait(home, &deposits).await?;
        // The other counter owes the cash-in: the load plans with that.
        traffic.read_exposures().await?;
        Ok(cases)
    }

    /// The dormant account wakes: a deposit of [`DORMANT_WAKE_AMOUNT`]
    /// (call it [`DORMANT_WAKE_AFTER`] after [`AuditCases::plant`]).
    pub async fn wake_dormant(&self, traffic: &Traffic) -> Result<(), TrafficError> {
        let home = traffic.coops.first().ok_or(TrafficError::NoSuchCoop(0))?;
        let wake = self.teller_tx(
            traffic,
            0,
            Action::Mint {
                member: self.dormant,
                amount: DORMANT_WAKE_AMOUNT,
            },
        )?;
        send_and_wait(home, &[wake]).await
    }

    /// A transaction of teller `n` (0: home, 1: the other counter).
    fn teller_tx(
        &self,
        traffic: &Traffic,
        n: usize,
        action: Action,
    ) -> Result<Transaction, TrafficError> {
        let coop = || {
            traffic
                .coops
                .get(n)
                .map_or_else(String::new, |c| c.id.to_string())
        };
        let (key, next) = self.tellers.get(n).ok_or(TrafficError::NoSuchCoop(n))?;
        let mut next = next
            .lock()
            .map_err(|_| TrafficError::Poisoned { coop: coop() })?;
        let body = TxBody {
            chain_id: traffic.chain_id.clone(),
            signer: key.public(),
            nonce: *next,
            action,
        };
        let tx = Transaction::sign(body, key).map_err(|_| TrafficError::Sign { coop: coop() })?;
        *next = next.saturating_add(1);
        Ok(tx)
    }
}

fn add_teller(key: &Keypair) -> Action {
    Action::AddTeller {
        teller: key.public(),
        name: "Audit demo teller".into(),
        daily_limit: None,
    }
}

/// `actions` signed by cooperative `c`'s key, in order.
fn sign_all(
    traffic: &Traffic,
    c: usize,
    actions: Vec<Action>,
) -> Result<Vec<Transaction>, TrafficError> {
    let coop = traffic.coops.get(c).ok_or(TrafficError::NoSuchCoop(c))?;
    actions
        .into_iter()
        .map(|action| {
            traffic
                .sign_coop(c, action)
                .ok_or_else(|| TrafficError::Sign {
                    coop: coop.id.to_string(),
                })
        })
        .collect()
}

/// Send `txs` to `coop`'s node in one batch and wait for each to commit
/// applied.
async fn send_and_wait(coop: &CoopDemo, txs: &[Transaction]) -> Result<(), TrafficError> {
    let results = coop
        .node
        .submit_batch(txs)
        .await
        .map_err(|e| coop.node_error(e))?;
    let mut hashes = Vec::new();
    for result in results {
        hashes.push(result.map_err(|e| coop.node_error(e))?);
    }
    for hash in hashes {
        coop.wait_applied(&hash, COMMIT_TIMEOUT).await?;
    }
    Ok(())
}
