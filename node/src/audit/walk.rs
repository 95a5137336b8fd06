//! Reading a period out of the store: the first height of the period by
//! binary search on block time (block times only rise), then each block
//! up to the period's end, its successful transactions turned into
//! [`AuditTx`] (signers resolved to member accounts and counters), the
//! accounts they name looked up in the committed state ([`Directory`]),
//! and the settlement windows closed in the period. At most
//! [`WALK_TXS_MAX`] transactions and [`STATEMENT_WINDOWS_MAX`] windows.

use super::period::Period;
use super::{
    AccountInfo, AuditTx, Counter, Directory, TxKind, STATEMENT_WINDOWS_MAX, WALK_TXS_MAX,
};
use crate::config::AuditConfig;
use kopnet_consensus::PublicKey;
use kopnet_ledger::ledger::{ChainPosition, ChainReader, LedgerError};
use kopnet_ledger::settlement_window::SettlementWindow;
use kopnet_ledger::state::{StateKey, StateValue};
use kopnet_ledger::{Action, Storage, Transaction};
use std::collections::BTreeMap;

/// Why a period could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("store: {0}")]
    Store(#[from] LedgerError),
    #[error("block {0} is missing from the store")]
    MissingBlock(u64),
}

/// What a walk read.
#[derive(Debug, Default)]
pub struct Walked {
    pub txs: Vec<AuditTx>,
    pub directory: Directory,
    /// The first and last heights read, if the period has blocks.
    pub heights: Option<(u64, u64)>,
    /// False when the walk stopped at [`WALK_TXS_MAX`].
    pub complete: bool,
}

/// The time of block `height`.
fn block_time<S: Storage>(chain: &ChainReader<S>, height: u64) -> Result<u64, WalkError> {
    chain
        .block(height)?
        .map(|b| b.header.time_ms)
        .ok_or(WalkError::MissingBlock(height))
}

/// The first height in `1..=top` whose block time is at least `time_ms`.
fn first_height_at<S: Storage>(
    chain: &ChainReader<S>,
    top: u64,
    time_ms: u64,
) -> Result<Option<u64>, WalkError> {
    let (mut low, mut high) = (1u64, top.saturating_add(1));
    while low < high {
        let mid = low + (high - low) / 2;
        if block_time(chain, mid)? < time_ms {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    Ok((low <= top).then_some(low))
}

/// Read the period's transactions and accounts up to height `top`.
pub fn walk<S: Storage>(
    chain: &ChainReader<S>,
    top: u64,
    period: &Period,
    config: &AuditConfig,
) -> Result<Walked, WalkError> {
    let mut walked = Walked {
        complete: true,
        ..Walked::default()
    };
    let Some(first) = first_height_at(chain, top, period.start_ms())? else {
        return Ok(walked);
    };
    let mut resolver = Resolver::new(chain);
    let mut last = None;
    'blocks: for height in first..=top {
        let block = chain
            .block(height)?
            .ok_or(WalkError::MissingBlock(height))?;
        if block.header.time_ms >= period.end_ms() {
            break;
        }
        let index = chain.block_txs(height)?;
        for (at, tx) in block.txs.iter().enumerate() {
            let ok = index
                .as_ref()
                .and_then(|i| i.entries.get(at))
                .filter(|e| e.result.is_ok());
            let Some(entry) = ok else { continue };
            if walked.txs.len() >= WALK_TXS_MAX {
                walked.complete = false;
                break 'blocks;
            }
            let place = (height, u32::try_from(at).unwrap_or(u32::MAX));
            if let Some(read) = resolver.read(tx, place, block.header.time_ms, entry.fees)? {
                walked.txs.push(read);
            }
        }
        last = Some(height);
    }
    walked.heights = last.map(|l| (first, l));
    walked.directory = resolver.directory(&walked.txs, first, config)?;
    Ok(walked)
}

/// The settlement windows closed in the period (up to `open_window`),
/// oldest first, at most [`STATEMENT_WINDOWS_MAX`]; and whether more
/// closed than that.
pub fn closed_windows<S: Storage>(
    chain: &ChainReader<S>,
    open_window: u64,
    period: &Period,
) -> Result<(Vec<SettlementWindow>, bool), WalkError> {
    let closed_at =
        |n: u64| -> Result<Option<u64>, WalkError> { Ok(chain.window(n)?.map(|w| w.closed_at_ms)) };
    // The first window closed at or after the period's start.
    let (mut low, mut high) = (0u64, open_window);
    while low < high {
        let mid = low + (high - low) / 2;
        match closed_at(mid)? {
            Some(t) if t < period.start_ms() => low = mid + 1,
            _ => high = mid,
        }
    }
    let mut out = Vec::new();
    for number in low..open_window {
        let Some(window) = chain.window(number)? else {
            continue;
        };
        if window.closed_at_ms >= period.end_ms() {
            return Ok((out, false));
        }
        if out.len() >= STATEMENT_WINDOWS_MAX {
            return Ok((out, true));
        }
        out.push(window);
    }
    Ok((out, false))
}

/// Signers to accounts and counters, with what it has looked up kept.
struct Resolver<'a, S> {
    chain: &'a ChainReader<S>,
    accounts: BTreeMap<PublicKey, PublicKey>,
    counters: BTreeMap<PublicKey, Option<Counter>>,
}

impl<'a, S: Storage> Resolver<'a, S> {
    fn new(chain: &'a ChainReader<S>) -> Self {
        Resolver {
            chain,
            accounts: BTreeMap::new(),
            counters: BTreeMap::new(),
        }
    }

    /// The member account `signer` signs for (its address, or itself).
    fn account(&mut self, signer: PublicKey) -> Result<PublicKey, WalkError> {
        if let Some(found) = self.accounts.get(&signer) {
            return Ok(*found);
        }
        let found = match self.chain.state_value(&StateKey::MemberKey(signer))? {
            Some(StateValue::MemberKey(address)) => address,
            _ => signer,
        };
        self.accounts.insert(signer, found);
        Ok(found)
    }

    /// The counter a cooperative key or teller `signer` works at.
    fn counter(&mut self, signer: PublicKey) -> Result<Option<Counter>, WalkError> {
        if let Some(found) = self.counters.get(&signer) {
            return Ok(found.clone());
        }
        let found = match self.chain.state_value(&StateKey::CoopKey(signer))? {
            Some(StateValue::CoopKey(coop)) => Some(Counter { coop, teller: None }),
            _ => match self.chain.state_value(&StateKey::Teller(signer))? {
                Some(StateValue::Teller(t)) => Some(Counter {
                    coop: t.coop,
                    teller: Some(signer),
                }),
                _ => None,
            },
        };
        self.counters.insert(signer, found.clone());
        Ok(found)
    }

    /// `tx` as the desk reads it, or `None` for what it does not read.
    fn read(
        &mut self,
        tx: &Transaction,
        (height, index): (u64, u32),
        time_ms: u64,
        fees: u64,
    ) -> Result<Option<AuditTx>, WalkError> {
        let signer = tx.body.signer;
        let (kind, from, to, amount, counter) = match &tx.body.action {
            Action::RegisterMember { member, .. } => {
                (TxKind::Register, None, Some(*member), 0, None)
            }
            Action::RegisterMerchant { merchant, .. } => {
                (TxKind::Register, None, Some(*merchant), 0, None)
            }
            Action::Mint { member, amount } => {
                let counter = self.counter(signer)?;
                (TxKind::CashDeposit, None, Some(*member), *amount, counter)
            }
            Action::Burn { member, amount } => {
                let counter = self.counter(signer)?;
                (
                    TxKind::CashWithdrawal,
                    Some(*member),
                    None,
                    *amount,
                    counter,
                )
            }
            Action::CashIn {
                agent,
                member,
                amount,
            } => {
                let teller = self.counter(signer)?.and_then(|c| c.teller);
                let counter = Some(Counter {
                    coop: agent.clone(),
                    teller,
                });
                (TxKind::CashIn, None, Some(*member), *amount, counter)
            }
            Action::CashOut { agent, amount } => {
                let member = self.account(signer)?;
                let counter = Some(Counter {
                    coop: agent.clone(),
                    teller: None,
                });
                (TxKind::CashOut, Some(member), None, *amount, counter)
            }
            Action::Payment { to, amount, .. } => {
                let payer = self.account(signer)?;
                (TxKind::Payment, Some(payer), Some(*to), *amount, None)
            }
            Action::PayRequest {
                requester, amount, ..
            } => {
                let payer = self.account(signer)?;
                (
                    TxKind::Payment,
                    Some(payer),
                    Some(*requester),
                    *amount,
                    None,
                )
            }
            Action::Payout { member, amount, .. } => {
                (TxKind::Payout, None, Some(*member), *amount, None)
            }
            Action::Refund { amount, .. } => {
                // Signed by the merchant (or its cooperative: then no
                // member account is named).
                let merchant = self.account(signer)?;
                let from = self.chain.member(&merchant)?.map(|_| merchant);
                (TxKind::Refund, from, None, *amount, None)
            }
            _ => return Ok(None),
        };
        Ok(Some(AuditTx {
            hash: tx.hash(),
            height,
            index,
            time_ms,
            kind,
            from,
            to,
            amount,
            fees,
            counter,
        }))
    }

    /// The accounts `txs` name, from the committed state; for those that
    /// moved at least the awakening volume, their last activity before
    /// height `first` (the dormancy rule's only look into the past).
    fn directory(
        &mut self,
        txs: &[AuditTx],
        first: u64,
        config: &AuditConfig,
    ) -> Result<Directory, WalkError> {
        let mut volume: BTreeMap<PublicKey, u128> = BTreeMap::new();
        for tx in txs {
            for account in tx.accounts() {
                let v = volume.entry(account).or_default();
                *v = v.saturating_add(u128::from(tx.amount));
            }
        }
        let mut times: BTreeMap<u64, u64> = BTreeMap::new();
        let mut time_of = |height: u64| -> Result<u64, WalkError> {
            if let Some(t) = times.get(&height) {
                return Ok(*t);
            }
            let t = block_time(self.chain, height)?;
            times.insert(height, t);
            Ok(t)
        };
        let mut directory = Directory::new();
        for (account, moved) in volume {
            let Some(member) = self.chain.member(&account)? else {
                continue;
            };
            let registered_ms = match member.registered_at_height {
                0 => Some(0),
                h => Some(time_of(h)?),
            };
            let active_before_ms = if moved >= u128::from(config.awakening_volume_min) {
                let before = ChainPosition {
                    height: first,
                    index: 0,
                };
                match self.chain.history(&account, Some(before), 1)?.first() {
                    Some((_, record)) => Some(time_of(record.height)?),
                    None => None,
                }
            } else {
                None
            };
            directory.insert(
                account,
                AccountInfo {
                    home: member.home,
                    kind: member.kind,
                    class: member.class,
                    registered_ms,
                    active_before_ms,
                },
            );
        }
        Ok(directory)
    }
}
