//! The indexes written with each block (store format 2, see
//! [`crate::keys`]): the block by height and by hash, one [`BlockTxs`]
//! value for all of its transactions' results, fees and sizes, its
//! transactions' places under their hashes in runs
//! ([`super::place_index`], store format 11), and the block's history
//! entries ([`super::history_index`], store format 3). The transaction's
//! bytes are stored once, in its block.

use super::block_txs::{encode_block, BlockTxs, TxEntry};
use super::executed::Execution;
use super::history_index;
use super::place_index;
use super::{corrupt, LedgerError};
use crate::block::Block;
use crate::evidence::CommittedEvidence;
use crate::keys;
use crate::rejection::Rejection;
use crate::storage::{Storage, WriteBatch};
use crate::tx::{Action, GovAction, Transaction};
use crate::types::Amount;
use kopnet_primitives::{codec, Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// How a committed transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    pub height: u64,
    pub index: u32,
    pub result: Result<(), Rejection>,
    /// Rupiah the transaction's fee legs moved, whoever paid them (0 when
    /// rejected or when no fee applies).
    pub fees: Amount,
}

/// Put `block`'s index entries into `batch`.
pub(super) fn index_block<S: Storage>(
    store: &S,
    batch: &mut WriteBatch,
    block: &Block,
    hash: Hash,
    execution: &Execution,
    base: u64,
) -> Result<(), LedgerError> {
    let height = block.header.height;
    let (block_bytes, txs_start, lens) = encode_block(block).map_err(corrupt)?;
    batch.put(keys::block(height), block_bytes);
    batch.put(keys::block_hash(&hash), height.to_be_bytes().to_vec());
    for (index, record) in block.evidence.iter().enumerate() {
        let index = u32::try_from(index).map_err(corrupt)?;
        let committed = CommittedEvidence {
            record: record.clone(),
            included_in_block: height,
        };
        let encoded = codec::encode(&committed).map_err(corrupt)?;
        batch.put(keys::evidence(height, index), encoded);
        batch.put(
            keys::offence(&record.identity_key()),
            height.to_be_bytes().to_vec(),
        );
    }
    let runs = execution
        .results
        .iter()
        .zip(&execution.changed)
        .zip(&execution.fees);
    let mut entries = Vec::with_capacity(block.txs.len());
    let mut history = Vec::with_capacity(block.txs.len() * 2);
    for (index, ((tx, (((_, result), changed), fees)), len)) in
        block.txs.iter().zip(runs).zip(lens).enumerate()
    {
        let index = u32::try_from(index).map_err(corrupt)?;
        entries.push(TxEntry {
            result: result.clone(),
            fees: *fees,
            len,
        });
        // Those the transaction names, and those whose account it
        // changed: a freeze, unfreeze or incentive lands in the member's
        // history under the approval that executed it.
        // Mostly the same members twice (the payer and payee named and
        // changed): each once, so the block's sort has half the entries.
        let mut members = touched_members(tx);
        members.extend(changed.iter().copied());
        members.sort_unstable();
        members.dedup();
        history.extend(members.into_iter().map(|m| (m, index)));
    }
    let hashes: Vec<Hash> = execution.results.iter().map(|(h, _)| *h).collect();
    place_index::index_block(
        store,
        batch,
        place_index::Family::Places,
        height,
        &hashes,
        base,
    )?;
    let txs = BlockTxs { txs_start, entries };
    batch.put(keys::block_txs(height), txs.encode().map_err(corrupt)?);
    history_index::index_history(store, batch, height, history)
}

/// Member accounts a transaction names (signer, payee, registered or minted
/// member, named merchant, the member of a proposed freeze, unfreeze or
/// incentive, the payer a payment request is addressed to, the requester
/// of a request paid or declined). The
/// history index shows a transaction under these and under every member
/// account its execution changed, so a governance action's effect is also
/// found under the approval that executed it, and a `Refund` (which names
/// only the payment's hash) under the merchant and the payer whose
/// balances it moved ([`crate::refunds`]).
pub fn touched_members(tx: &Transaction) -> Vec<PublicKey> {
    let mut out = vec![tx.body.signer];
    match &tx.body.action {
        Action::RegisterMember { member, .. }
        | Action::Mint { member, .. }
        | Action::Burn { member, .. }
        | Action::CashIn { member, .. } => out.push(*member),
        Action::Payment { to, .. } => out.push(*to),
        Action::StartRecovery { member, .. } | Action::CancelRecovery { member } => {
            out.push(*member)
        }
        Action::SetMerchantName { merchant, .. }
        | Action::RegisterMerchant { merchant, .. }
        | Action::SetMerchantClass { merchant, .. } => out.push(*merchant),
        Action::SetMemberTier { member, .. } | Action::Payout { member, .. } => out.push(*member),
        Action::RequestPayment {
            payer: Some(payer), ..
        } => out.push(*payer),
        Action::PayRequest { requester, .. } | Action::DeclineRequest { requester, .. } => {
            out.push(*requester)
        }
        Action::Propose {
            action:
                GovAction::Freeze { member }
                | GovAction::Unfreeze { member }
                | GovAction::FundIncentive { member, .. },
        } => out.push(*member),
        _ => {}
    }
    out.sort();
    out.dedup();
    out
}
