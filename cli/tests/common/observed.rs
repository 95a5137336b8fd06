//! A network read through its observer, and the CLI as a test drives it:
//! what the tests of issue 16's roles (tellers, the lost phone) share. A
//! transaction is sent to one node and read back from the observer once
//! the observer has it too; every wait is a condition with a deadline.

use super::{kopnet, Cluster, Wallet};
use kopnet_consensus::Keypair;
use kopnet_ledger::Transaction;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// How long a transaction or a block may take to show.
pub const OBSERVED_TIMEOUT: Duration = Duration::from_secs(60);

/// Run the `kopnet` CLI; its stdout (the command must succeed).
pub fn kopnet_ok(args: &[&str]) -> String {
    let out = Command::new(kopnet()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "kopnet {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `kopnet` to the end; (success, stdout + stderr).
pub fn kopnet_run(args: &[&str]) -> (bool, String) {
    let out = Command::new(kopnet()).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A new wallet key file at `path` (`kopnet wallet new`); its key.
pub fn new_wallet_key(path: &Path) -> Keypair {
    kopnet_ok(&["wallet", "new", "--out", path.to_str().unwrap()]);
    kopnet_node::keyfile::read(path).unwrap()
}

/// A cluster and the index of its observer, where the test reads.
pub struct ObservedNet {
    pub cluster: Cluster,
    pub observer: usize,
}

impl ObservedNet {
    /// The cluster's first observer.
    pub fn new(cluster: Cluster) -> ObservedNet {
        let observer = cluster.observer();
        ObservedNet { cluster, observer }
    }

    /// Submit `tx` to `node`; its result code once the observer has it.
    pub fn run(&self, node: usize, tx: &Transaction) -> String {
        let response = self.cluster.submit(node, tx);
        assert!(
            response.status().is_success(),
            "{}",
            response.text().unwrap()
        );
        self.cluster.wait_tx(node, &tx.hash(), OBSERVED_TIMEOUT);
        self.cluster
            .wait_tx(self.observer, &tx.hash(), OBSERVED_TIMEOUT)
    }

    /// `GET path` at the observer (it must answer 2xx).
    pub fn get(&self, path: &str) -> Value {
        self.cluster.get(self.observer, path).unwrap()
    }

    /// Wait until the observer has every block `node` has now: a CLI
    /// command returns once its transaction committed at the node it was
    /// sent to, and the reads ask the observer.
    pub fn caught_up(&self, node: usize) {
        let height = self.cluster.height(node).unwrap_or(0);
        self.cluster
            .wait_height(self.observer, height, OBSERVED_TIMEOUT);
    }

    /// The account at `key`'s address, as the observer has it.
    pub fn account(&self, key: &Keypair) -> Value {
        self.get(&format!("/v1/accounts/{}", key.public().to_address()))
    }

    /// A wallet for `key` at the nonce the network expects next (the
    /// signer's, whatever its role: `GET /v1/signers/{key}`).
    pub fn wallet(&self, key: &Keypair) -> Wallet {
        let signer = self.get(&format!("/v1/signers/{}", key.public().to_address()));
        let mut wallet = Wallet::new(key.clone(), &self.cluster.chain_id);
        wallet.nonce = signer["next_nonce"].as_u64().unwrap() - 1;
        wallet
    }
}
