//! The checks after a fault-injection run, as a pure function over what was
//! collected from every node (collection over HTTP and log files is the
//! runner's job). The first difference found is returned as a typed failure
//! whose message names the node, height or transaction, so a failed run
//! says exactly where to look.
//!
//! Order of checks (the first failure wins; a divergence or a broken
//! invariant comes first because it explains a node that fell behind, never
//! the other way round):
//! 1. same block hash and state root at every common height;
//! 2. each node's ledger invariants hold (conservation, positions sum to 0);
//! 3. every node reached the target height (observers and late joiners
//!    caught up);
//! 4. every transaction the load generator saw committed is on every node,
//!    with the same result;
//! 5. every validator proposed at least once;
//! 6. no node logged a panic;
//! 7. no evidence of double-signing against an honest validator.

use std::collections::{BTreeMap, BTreeSet};

/// One committed block as a node reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSeen {
    pub hash: String,
    pub state_root: String,
    /// The proposer's address.
    pub proposer: String,
}

/// Everything collected from one node after the run.
#[derive(Debug, Clone, Default)]
pub struct NodeSnapshot {
    pub id: String,
    pub height: u64,
    /// Blocks by height (1..=height, as far as collected).
    pub blocks: BTreeMap<u64, BlockSeen>,
    /// Result code of each acknowledged transaction on this node (absent =
    /// the node does not know the transaction).
    pub tx_results: BTreeMap<String, String>,
    /// `None` when the invariants hold, else the node's error text.
    pub invariant_error: Option<String>,
    /// The first log line containing a panic, if any.
    pub panic_line: Option<String>,
    /// Addresses this node logged double-sign evidence against.
    pub evidence_against: BTreeSet<String>,
}

/// What the load generator saw acknowledged as committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    pub hash: String,
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckFailure {
    #[error("no node answered: nothing to check")]
    NoNodes,
    #[error("node {node} is at height {height}, below the target {target}: it did not catch up")]
    Behind {
        node: String,
        height: u64,
        target: u64,
    },
    #[error("node {node} has no block at height {height}, which it reports as committed")]
    MissingBlock { node: String, height: u64 },
    #[error("block hashes differ at height {height}: {first} has {first_hash}, {other} has {other_hash}")]
    BlockHash {
        height: u64,
        first: String,
        first_hash: String,
        other: String,
        other_hash: String,
    },
    #[error(
        "state roots differ at height {height}: {first} has {first_root}, {other} has {other_root}"
    )]
    StateRoot {
        height: u64,
        first: String,
        first_root: String,
        other: String,
        other_root: String,
    },
    #[error("transaction {hash} was acknowledged as committed ({expected}) but node {node} does not have it")]
    TxMissing {
        hash: String,
        node: String,
        expected: String,
    },
    #[error(
        "transaction {hash} was acknowledged with result {expected} but node {node} has {found}"
    )]
    TxResult {
        hash: String,
        node: String,
        expected: String,
        found: String,
    },
    #[error("node {node}: ledger invariant broken: {error}")]
    Invariant { node: String, error: String },
    #[error("validator {validator} never proposed a block in heights 1..={height}")]
    NeverProposed { validator: String, height: u64 },
    #[error("node {node} stopped by itself during the run: {reason} (log: {log})")]
    Stopped {
        node: String,
        reason: String,
        log: String,
    },
    #[error("node {node} logged a panic: {line}")]
    Panic { node: String, line: String },
    #[error("node {node} recorded double-sign evidence against honest validator {validator}")]
    Evidence { node: String, validator: String },
    /// Every data check passed, but the network stopped making progress
    /// before the schedule was done (reported only when nothing more
    /// specific was found).
    #[error(
        "the network stalled at height {height}; perturbations that never ran or ended: {pending}"
    )]
    Stalled { height: u64, pending: String },
    /// Every data check passed, but a hostile phase did not (see
    /// [`super::hostile`]).
    #[error("hostile phase {behaviour} of {node} failed: {reason}")]
    Hostile {
        node: String,
        behaviour: String,
        reason: String,
    },
    /// Every data check passed, but a key rotation did not (see
    /// [`super::rotate`]).
    #[error("rotate-key of {node} failed: {reason}")]
    RotateKey { node: String, reason: String },
    /// Every data check passed, but votes the rotated validator signed
    /// with its retired key, gossiped on the running network, were not
    /// shown refused (see [`super::old_key_live`]).
    #[error("rotate-key of {node}: a message signed with the old validator key was not refused: {reason}")]
    OldKeyNotRefused { node: String, reason: String },
}

impl CheckFailure {
    /// A stable snake_case name of the failure, for scripts and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            CheckFailure::NoNodes => "no_nodes",
            CheckFailure::Behind { .. } => "behind",
            CheckFailure::MissingBlock { .. } => "missing_block",
            CheckFailure::BlockHash { .. } => "block_hash",
            CheckFailure::StateRoot { .. } => "state_root",
            CheckFailure::TxMissing { .. } => "tx_missing",
            CheckFailure::TxResult { .. } => "tx_result",
            CheckFailure::Invariant { .. } => "invariant",
            CheckFailure::NeverProposed { .. } => "never_proposed",
            CheckFailure::Stopped { .. } => "node_stopped",
            CheckFailure::Panic { .. } => "panic",
            CheckFailure::Evidence { .. } => "evidence",
            CheckFailure::Stalled { .. } => "stalled",
            CheckFailure::Hostile { .. } => "hostile",
            CheckFailure::RotateKey { .. } => "rotate_key",
            CheckFailure::OldKeyNotRefused { .. } => "old_key_not_refused",
        }
    }
}

/// What passed, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    pub nodes: usize,
    pub common_height: u64,
    pub acknowledged_txs: usize,
    /// Blocks proposed per validator address over the common heights.
    pub proposed: BTreeMap<String, u64>,
}

/// Run every check; `validators` are the validators' addresses, `byzantine`
/// those the manifest declares faulty on purpose (evidence against them is
/// expected), `target` the height every node must have reached.
pub fn check(
    nodes: &[NodeSnapshot],
    acknowledged: &[Acknowledged],
    validators: &[String],
    byzantine: &BTreeSet<String>,
    target: u64,
) -> Result<CheckSummary, CheckFailure> {
    let first = nodes.first().ok_or(CheckFailure::NoNodes)?;
    let common = nodes.iter().map(|n| n.height).min().unwrap_or(0);
    check_same_blocks(first, nodes, common)?;
    for node in nodes {
        if let Some(error) = &node.invariant_error {
            return Err(CheckFailure::Invariant {
                node: node.id.clone(),
                error: error.clone(),
            });
        }
    }
    for node in nodes {
        if node.height < target {
            return Err(CheckFailure::Behind {
                node: node.id.clone(),
                height: node.height,
                target,
            });
        }
    }
    check_acknowledged(nodes, acknowledged)?;
    let proposed = check_every_validator_proposed(first, validators, common)?;
    for node in nodes {
        if let Some(line) = &node.panic_line {
            return Err(CheckFailure::Panic {
                node: node.id.clone(),
                line: line.clone(),
            });
        }
    }
    check_evidence_only_against_byzantine(nodes, byzantine)?;
    Ok(CheckSummary {
        nodes: nodes.len(),
        common_height: common,
        acknowledged_txs: acknowledged.len(),
        proposed,
    })
}

/// Every node has the same block hash and state root as `first` at each
/// height up to `common`.
fn check_same_blocks(
    first: &NodeSnapshot,
    nodes: &[NodeSnapshot],
    common: u64,
) -> Result<(), CheckFailure> {
    for height in 1..=common {
        let reference = block_at(first, height)?;
        for other in nodes.iter().skip(1) {
            let block = block_at(other, height)?;
            if block.hash != reference.hash {
                return Err(CheckFailure::BlockHash {
                    height,
                    first: first.id.clone(),
                    first_hash: reference.hash.clone(),
                    other: other.id.clone(),
                    other_hash: block.hash.clone(),
                });
            }
            if block.state_root != reference.state_root {
                return Err(CheckFailure::StateRoot {
                    height,
                    first: first.id.clone(),
                    first_root: reference.state_root.clone(),
                    other: other.id.clone(),
                    other_root: block.state_root.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Every node has every acknowledged transaction, with the result the
/// client was told.
fn check_acknowledged(
    nodes: &[NodeSnapshot],
    acknowledged: &[Acknowledged],
) -> Result<(), CheckFailure> {
    for ack in acknowledged {
        for node in nodes {
            match node.tx_results.get(&ack.hash) {
                None => {
                    return Err(CheckFailure::TxMissing {
                        hash: ack.hash.clone(),
                        node: node.id.clone(),
                        expected: ack.result.clone(),
                    })
                }
                Some(found) if *found != ack.result => {
                    return Err(CheckFailure::TxResult {
                        hash: ack.hash.clone(),
                        node: node.id.clone(),
                        expected: ack.result.clone(),
                        found: found.clone(),
                    })
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Blocks proposed per validator in `first`'s blocks up to `common`; each
/// validator must have proposed at least one.
fn check_every_validator_proposed(
    first: &NodeSnapshot,
    validators: &[String],
    common: u64,
) -> Result<BTreeMap<String, u64>, CheckFailure> {
    let mut proposed: BTreeMap<String, u64> = validators.iter().map(|v| (v.clone(), 0)).collect();
    for block in first.blocks.range(1..=common).map(|(_, b)| b) {
        if let Some(count) = proposed.get_mut(&block.proposer) {
            *count += 1;
        }
    }
    if let Some((validator, _)) = proposed.iter().find(|(_, n)| **n == 0) {
        return Err(CheckFailure::NeverProposed {
            validator: validator.clone(),
            height: common,
        });
    }
    Ok(proposed)
}

/// No node holds evidence against a validator the manifest did not declare
/// Byzantine.
fn check_evidence_only_against_byzantine(
    nodes: &[NodeSnapshot],
    byzantine: &BTreeSet<String>,
) -> Result<(), CheckFailure> {
    for node in nodes {
        if let Some(validator) = node
            .evidence_against
            .iter()
            .find(|v| !byzantine.contains(*v))
        {
            return Err(CheckFailure::Evidence {
                node: node.id.clone(),
                validator: validator.clone(),
            });
        }
    }
    Ok(())
}

fn block_at(node: &NodeSnapshot, height: u64) -> Result<&BlockSeen, CheckFailure> {
    node.blocks
        .get(&height)
        .ok_or_else(|| CheckFailure::MissingBlock {
            node: node.id.clone(),
            height,
        })
}

/// The first line of a node log that shows a panic (Rust's panic message).
pub fn find_panic(log: &str) -> Option<String> {
    log.lines()
        .find(|line| line.contains("panicked at"))
        .map(|line| line.chars().take(500).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALIDATORS: [&str; 2] = ["kopA", "kopB"];

    fn node(id: &str, height: u64) -> NodeSnapshot {
        let mut blocks = BTreeMap::new();
        for h in 1..=height {
            blocks.insert(
                h,
                BlockSeen {
                    hash: format!("h{h}"),
                    state_root: format!("r{h}"),
                    proposer: VALIDATORS[(h % 2) as usize].to_string(),
                },
            );
        }
        NodeSnapshot {
            id: id.into(),
            height,
            blocks,
            tx_results: [("t1".to_string(), "ok".to_string())].into(),
            ..NodeSnapshot::default()
        }
    }

    fn acks() -> Vec<Acknowledged> {
        vec![Acknowledged {
            hash: "t1".into(),
            result: "ok".into(),
        }]
    }

    fn run(nodes: &[NodeSnapshot], target: u64) -> Result<CheckSummary, CheckFailure> {
        let validators: Vec<String> = VALIDATORS.iter().map(|v| v.to_string()).collect();
        check(nodes, &acks(), &validators, &BTreeSet::new(), target)
    }

    #[test]
    fn a_healthy_network_passes() {
        let summary = run(&[node("a", 4), node("b", 5)], 4).unwrap();
        assert_eq!(summary.common_height, 4);
        assert_eq!(summary.proposed.get("kopA"), Some(&2));
        assert_eq!(summary.acknowledged_txs, 1);
    }

    #[test]
    fn chains_that_lag_fork_diverge_or_have_gaps_are_named() {
        let behind = run(&[node("a", 4), node("late", 2)], 4);
        assert!(matches!(behind, Err(CheckFailure::Behind { ref node, .. }) if node == "late"));

        let mut forked = node("b", 4);
        if let Some(b) = forked.blocks.get_mut(&3) {
            b.hash = "evil".into();
        }
        let err = run(&[node("a", 4), forked], 4).unwrap_err();
        assert!(
            matches!(err, CheckFailure::BlockHash { height: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("evil"));

        let mut diverged = node("b", 4);
        if let Some(b) = diverged.blocks.get_mut(&2) {
            b.state_root = "bad".into();
        }
        assert!(matches!(
            run(&[node("a", 4), diverged], 4),
            Err(CheckFailure::StateRoot { height: 2, .. })
        ));

        let mut gap = node("b", 4);
        gap.blocks.remove(&1);
        assert!(matches!(
            run(&[node("a", 4), gap], 4),
            Err(CheckFailure::MissingBlock { height: 1, .. })
        ));
    }

    #[test]
    fn lost_or_different_transaction_results_are_named() {
        let mut lost = node("b", 4);
        lost.tx_results.clear();
        assert!(matches!(
            run(&[node("a", 4), lost], 4),
            Err(CheckFailure::TxMissing { .. })
        ));

        let mut other = node("b", 4);
        other
            .tx_results
            .insert("t1".into(), "insufficient_funds".into());
        assert!(matches!(
            run(&[node("a", 4), other], 4),
            Err(CheckFailure::TxResult { ref found, .. }) if found == "insufficient_funds"
        ));
    }

    #[test]
    fn a_broken_invariant_is_named_even_before_lag() {
        let mut broken = node("b", 4);
        broken.invariant_error = Some("conservation".into());
        assert!(matches!(
            run(&[node("a", 4), broken], 4),
            Err(CheckFailure::Invariant { .. })
        ));

        // A node that is behind *because* its state broke is reported for
        // the broken invariant, the cause, not for being behind.
        let mut stuck = node("b", 2);
        stuck.invariant_error = Some("conservation".into());
        assert!(matches!(
            run(&[node("a", 4), stuck], 4),
            Err(CheckFailure::Invariant { ref node, .. }) if node == "b"
        ));
    }

    #[test]
    fn idle_validators_panics_and_unexpected_evidence_are_named() {
        let mut lazy = node("a", 4);
        for b in lazy.blocks.values_mut() {
            b.proposer = "kopA".into();
        }
        assert!(matches!(
            run(&[lazy], 4),
            Err(CheckFailure::NeverProposed { ref validator, .. }) if validator == "kopB"
        ));

        let mut panicked = node("b", 4);
        panicked.panic_line = find_panic("ok\nthread 'main' panicked at src/x.rs:1:1\n");
        assert!(matches!(
            run(&[node("a", 4), panicked], 4),
            Err(CheckFailure::Panic { .. })
        ));

        let mut accusing = node("b", 4);
        accusing.evidence_against.insert("kopA".into());
        assert!(matches!(
            run(&[node("a", 4), accusing.clone()], 4),
            Err(CheckFailure::Evidence { .. })
        ));
        // Evidence against a validator declared Byzantine is expected.
        let validators: Vec<String> = VALIDATORS.iter().map(|v| v.to_string()).collect();
        let byzantine: BTreeSet<String> = ["kopA".to_string()].into();
        assert!(check(
            &[node("a", 4), accusing],
            &acks(),
            &validators,
            &byzantine,
            4
        )
        .is_ok());

        assert_eq!(run(&[], 0), Err(CheckFailure::NoNodes));
        assert_eq!(find_panic("all good\n"), None);
    }
}
