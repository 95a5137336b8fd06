//! Deterministic fixtures for tests, simulations and demos: a cooperative
//! city with fixed keys, and a signer that tracks nonces.
//!
//! Keys come from fixed seeds, so they are for tests and local demos only.

use crate::genesis::{Genesis, GenesisCooperative};
use crate::tx::{Action, Transaction, TxBody};
use crate::types::{AccountKind, Amount, CoopId, KycTier};
use kopnet_primitives::{Hash, Keypair, PublicKey};
use std::collections::BTreeMap;

/// The demo city's cooperatives: (slug, display name).
pub const DEMO_COOPERATIVES: [(&str, &str); 5] = [
    ("ksp-sejahtera", "KSP Sejahtera (savings and credit)"),
    (
        "pasar-makmur",
        "Koperasi Pedagang Pasar Makmur (market traders)",
    ),
    ("angkot-maju", "Koperasi Angkot Maju (city transport)"),
    ("taksi-bersama", "Koperasi Taksi Bersama (taxi)"),
    ("konsumen-rukun", "Koperasi Konsumen Rukun (consumer)"),
];

/// A key derived from a name: the same name always gives the same key.
pub fn key_for(name: &str) -> Keypair {
    let seed = Hash::digest("kopnet 2026 testkit key v1", name.as_bytes());
    Keypair::from_seed(seed.0)
}

/// The validator key of the cooperative (or anything) named `name`, for
/// tests: distinct from [`key_for`]`(name)`.
pub fn validator_key_for(name: &str) -> Keypair {
    key_for(&format!("{name}/validator"))
}

/// The node identity of the cooperative named `name`, for tests.
pub fn node_key_for(name: &str) -> Keypair {
    key_for(&format!("{name}/node"))
}

/// Holds keys and next nonces, and signs transactions.
#[derive(Debug, Clone, Default)]
pub struct Signers {
    keys: BTreeMap<PublicKey, Keypair>,
    nonces: BTreeMap<PublicKey, u64>,
}

impl Signers {
    pub fn add(&mut self, key: Keypair) -> PublicKey {
        let public = key.public();
        self.keys.insert(public, key);
        public
    }

    /// Sign `action` by `signer` with its next nonce.
    pub fn sign(&mut self, chain_id: &str, signer: &PublicKey, action: Action) -> Transaction {
        let nonce = self.nonces.entry(*signer).or_insert(0);
        *nonce = nonce.saturating_add(1);
        let body = TxBody {
            chain_id: chain_id.to_string(),
            signer: *signer,
            nonce: *nonce,
            action,
        };
        let key = self
            .keys
            .get(signer)
            .cloned()
            .unwrap_or_else(|| Keypair::from_seed([0; 32]));
        match Transaction::sign(body.clone(), &key) {
            Ok(tx) => tx,
            Err(_) => Transaction {
                body,
                signature: kopnet_primitives::Signature([0; 64]),
            },
        }
    }

    /// Forget a nonce use (after a transaction was not admitted).
    pub fn rewind(&mut self, signer: &PublicKey) {
        if let Some(nonce) = self.nonces.get_mut(signer) {
            *nonce = nonce.saturating_sub(1);
        }
    }
}

/// A genesis for the first `validators` demo cooperatives (all validators,
/// voting power 1) plus any further ones as non-validating participants.
pub fn demo_genesis(chain_id: &str, validators: usize, ndc: u64) -> Genesis {
    let cooperatives = DEMO_COOPERATIVES
        .iter()
        .enumerate()
        .map(|(index, (slug, name))| GenesisCooperative {
            id: CoopId::new(slug).unwrap_or_else(|_| CoopId::network()),
            name: (*name).to_string(),
            key: key_for(slug).public(),
            voting_power: u64::from(index < validators),
            ndc,
            validator_key: validator_key_for(slug).public(),
            node_key: node_key_for(slug).public(),
        })
        .collect();
    Genesis::new(chain_id, cooperatives)
}

/// Signers for all demo cooperatives.
pub fn demo_signers() -> Signers {
    let mut signers = Signers::default();
    for (slug, _) in DEMO_COOPERATIVES {
        signers.add(key_for(slug));
    }
    signers
}

/// A cooperative's setup of `members`: for each, its registration as a
/// registered member and a mint of `amount`, in that order (so signed with
/// the cooperative's consecutive nonces, the list can be applied as is).
pub fn register_and_fund(
    members: impl IntoIterator<Item = PublicKey>,
    amount: Amount,
) -> Vec<Action> {
    members
        .into_iter()
        .flat_map(|member| {
            [
                Action::RegisterMember {
                    member,
                    kind: AccountKind::Member,
                    tier: KycTier::Registered,
                },
                Action::Mint { member, amount },
            ]
        })
        .collect()
}

/// Every signature counts as good: for measurements whose signatures are
/// filler, or stand for a node's cache of signatures it already checked.
pub struct TrustedSignatures;

impl crate::ledger::SignatureCheck for TrustedSignatures {
    fn is_valid(&self, _: &Hash, _: &Transaction) -> bool {
        true
    }
}

/// The block of all of `txs` at `time_ms`, proposed by `ksp-sejahtera`
/// with signatures trusted, or a description of the first transaction the
/// proposer could not admit (for measurements that want every one in).
pub fn build_all<S: crate::storage::Storage>(
    ledger: &crate::ledger::Ledger<S>,
    txs: &[Transaction],
    time_ms: u64,
) -> Result<crate::ledger::ExecutedBlock, String> {
    let limits = crate::ledger::BlockLimits {
        max_txs: txs.len().max(1),
        max_bytes: crate::block::BLOCK_BYTES_MAX,
    };
    let context = crate::ledger::BlockContext {
        time_ms,
        ..crate::ledger::BlockContext::new(key_for("ksp-sejahtera").public())
    };
    let (executed, skipped) = ledger.build_executed_block(txs, context, limits, &TrustedSignatures);
    match skipped.first() {
        Some(first) => Err(format!("not admitted: {first:?}")),
        None => Ok(executed),
    }
}
