//! A deliberately broken ledger, to show the state-root check catches a node
//! whose state diverges: money moved between two members outside any block.
//! Balances still sum to the supply (conservation holds) and the commitment
//! is left as it was, so only the next block touching either account makes
//! that node's state root differ from the others'.

use super::node::SimLedger;
use kopnet_consensus::PublicKey;

/// Rupiah moved outside any block.
pub const SHIFT: u64 = 1_000;

/// Move `SHIFT` from the first member in `members` that holds it to the
/// next one. False if no member holds enough yet.
pub fn shift_balance(ledger: &mut SimLedger, members: &[PublicKey]) -> bool {
    let Some(from) = members
        .iter()
        .position(|k| ledger.member(k).is_some_and(|m| m.balance >= SHIFT))
    else {
        return false;
    };
    let to = members[(from + 1) % members.len()];
    let from = members[from];
    let (Some(mut a), Some(mut b)) = (ledger.member(&from), ledger.member(&to)) else {
        return false;
    };
    if from == to {
        return false;
    }
    a.balance -= SHIFT;
    b.balance += SHIFT;
    ledger.fault_overwrite_member(from, a).is_ok() && ledger.fault_overwrite_member(to, b).is_ok()
}
