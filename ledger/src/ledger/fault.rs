//! Fault injection, compiled only with the `fault-injection` feature: a way
//! to corrupt a ledger on purpose so that the testnet runner and the
//! simulator can show their checks catch it. A healthy node never has this.

use super::{corrupt, Ledger, LedgerError};
use crate::keys;
use crate::state::{StateKey, StateValue};
use crate::storage::{Storage, WriteBatch};
use crate::types::MemberAccount;
use kopnet_primitives::{codec, PublicKey};

impl<S: Storage> Ledger<S> {
    /// FAULT INJECTION ONLY, for the node's `KOPNET_FAULT=double-credit`
    /// and the simulator's corrupted node: overwrite a member account in the
    /// state and in storage outside of any block, leaving the state root as
    /// it was: the kind of corruption the testnet runner must catch. An
    /// [`ExecutedBlock`](super::ExecutedBlock) executed before the overwrite
    /// is refused afterwards (the state it ran on is gone).
    #[doc(hidden)]
    pub fn fault_overwrite_member(
        &mut self,
        key: PublicKey,
        account: MemberAccount,
    ) -> Result<(), LedgerError> {
        let state_key = StateKey::Member(key);
        let value = StateValue::Member(account);
        let mut batch = WriteBatch::default();
        batch.put(
            keys::state(&codec::encode(&state_key).map_err(corrupt)?),
            codec::encode(&value).map_err(corrupt)?,
        );
        self.store.commit(batch)?;
        // The figures follow the overwrite, as the state does: the invariant
        // check made with them must see the corruption.
        self.figures
            .apply_one(&self.state, &state_key, Some(&value));
        self.state.insert(state_key, value);
        self.revision = self.revision.wrapping_add(1);
        Ok(())
    }
}
