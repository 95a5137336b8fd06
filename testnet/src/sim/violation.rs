//! What can go wrong in a run, with a message that names the invariant.

use super::net::NodeId;
use kopnet_consensus::{Hash, Height, Round, SignStep};
use std::fmt;

/// A broken invariant (or a run that could not be carried out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two honest nodes decided different blocks at one height.
    Agreement {
        height: Height,
        first: Hash,
        second: Hash,
        node: NodeId,
    },
    /// Two honest nodes have different state roots after one height.
    StateRoot {
        height: Height,
        first: Hash,
        second: Hash,
        node: NodeId,
    },
    /// A decided block was never proposed, or the ledger refuses it.
    Validity {
        height: Height,
        value: Hash,
        node: NodeId,
        reason: String,
    },
    DoubleSign {
        node: NodeId,
        height: Height,
        round: Round,
        step: SignStep,
        first: Option<Hash>,
        second: Option<Hash>,
    },
    /// A decision whose certificate does not verify (strict > 2/3 rule)
    /// against the validator set of its height.
    Certificate {
        node: NodeId,
        height: Height,
        error: String,
    },
    /// A node used another validator set for a height than other nodes.
    ValidatorSet {
        node: NodeId,
        height: Height,
    },
    /// The Byzantine validators hold a third of a height's power or more.
    ByzantinePower {
        height: Height,
        byzantine: u64,
        total: u64,
    },
    /// Conservation or positions broken on a node's ledger.
    Ledger {
        node: NodeId,
        height: Height,
        error: String,
    },
    /// The node host failed (it would stop the node) without a crash
    /// having been injected: a bug in the host or the ledger.
    Host {
        node: NodeId,
        error: String,
    },
    /// A restarted node's ledger does not match what it had committed.
    Recovery {
        node: NodeId,
        error: String,
    },
    /// A restarted node's store lacks blocks it had committed (memory ran
    /// ahead of the disk: a commit reported before it was durable).
    CommittedLost {
        node: NodeId,
        committed: Height,
        found: Height,
        power_cut: bool,
    },
    /// A storage fault fired in a host call that returned `Ok`: the host
    /// ran on after a failed write instead of failing stop.
    FaultIgnored {
        node: NodeId,
        fault: String,
    },
    HonestAccused {
        node: NodeId,
        offender: NodeId,
    },
    BadEvidence {
        node: NodeId,
        error: String,
    },
    /// An honest host asked the network to penalise an honest peer.
    FalseAccusation {
        node: NodeId,
        peer: NodeId,
        offence: String,
    },
    /// An honest engine held more for the next height than its bound.
    FutureBuffer {
        node: NodeId,
        messages: usize,
        bytes: usize,
        messages_max: usize,
        bytes_max: usize,
    },
    /// A committed block carries evidence against an honest validator.
    EvidenceOnChain {
        node: NodeId,
        height: Height,
        offender: NodeId,
    },
    /// An honest proposer's committed block left out an offence it had
    /// observed while it had room for it.
    EvidenceMissing {
        node: NodeId,
        height: Height,
        offence: String,
    },
    /// An honest node stayed `syncing` although no node had committed
    /// past it (only a false claim can keep it so).
    StuckSyncing {
        node: NodeId,
        since_ms: u64,
        height: Height,
    },
    Liveness {
        node: NodeId,
        decided: u64,
        target: u64,
        deadline_ms: u64,
        nodes: String,
    },
    EventBudget {
        events: u64,
    },
    /// The simulation could not be set up (a bug in the simulator).
    Setup {
        error: String,
    },
}

impl Violation {
    /// Whether this is a safety violation (as opposed to liveness or setup).
    pub fn is_safety(&self) -> bool {
        !matches!(
            self,
            Violation::Liveness { .. } | Violation::EventBudget { .. } | Violation::Setup { .. }
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Agreement { height, first, second, node } => write!(
                f,
                "AGREEMENT: node {node} decided {second:?} at height {height}, another honest node decided {first:?}"
            ),
            Violation::StateRoot { height, first, second, node } => write!(
                f,
                "STATE ROOT: node {node} has state root {second:?} after height {height}, another honest node has {first:?}"
            ),
            Violation::Validity { height, value, node, reason } => {
                write!(f, "VALIDITY: node {node} decided {value:?} at height {height}: {reason}")
            }
            Violation::DoubleSign { node, height, round, step, first, second } => write!(
                f,
                "DOUBLE-SIGN: honest node {node} signed {first:?} and {second:?} at height {height} round {round} {step:?}"
            ),
            Violation::Certificate { node, height, error } => {
                write!(f, "CERTIFICATE: node {node} decided height {height} with a bad certificate: {error}")
            }
            Violation::ValidatorSet { node, height } => write!(
                f,
                "VALIDATOR SET: node {node} used a different validator set for height {height} than other nodes"
            ),
            Violation::ByzantinePower { height, byzantine, total } => write!(
                f,
                "BYZANTINE POWER: {byzantine} of {total} at height {height} is not below a third"
            ),
            Violation::Ledger { node, height, error } => {
                write!(f, "LEDGER INVARIANT: node {node} after height {height}: {error}")
            }
            Violation::Host { node, error } => {
                write!(f, "HOST: node {node}'s host stopped with no fault injected: {error}")
            }
            Violation::Recovery { node, error } => {
                write!(f, "RECOVERY: node {node} restarted with a different ledger: {error}")
            }
            Violation::CommittedLost { node, committed, found, power_cut } => write!(
                f,
                "COMMITTED BLOCK LOST: node {node} had committed height {committed}, its store holds height {found} after {}",
                if *power_cut { "a power cut" } else { "a crash" }
            ),
            Violation::FaultIgnored { node, fault } => write!(
                f,
                "FAULT IGNORED: node {node}'s host went on after a storage fault fired ({fault}) instead of failing stop"
            ),
            Violation::HonestAccused { node, offender } => {
                write!(f, "EVIDENCE: node {node} produced evidence against honest node {offender}")
            }
            Violation::BadEvidence { node, error } => {
                write!(f, "EVIDENCE: node {node} produced unverifiable evidence: {error}")
            }
            Violation::FalseAccusation { node, peer, offence } => write!(
                f,
                "FALSE ACCUSATION: honest node {node} penalised honest node {peer} ({offence})"
            ),
            Violation::FutureBuffer { node, messages, bytes, messages_max, bytes_max } => write!(
                f,
                "FUTURE BUFFER: node {node} holds {messages} messages / {bytes} bytes for the next height, bound {messages_max} / {bytes_max}"
            ),
            Violation::EvidenceOnChain { node, height, offender } => write!(
                f,
                "EVIDENCE ON CHAIN: block {height} (committed by node {node}) accuses honest node {offender}"
            ),
            Violation::EvidenceMissing { node, height, offence } => write!(
                f,
                "EVIDENCE MISSING: node {node}'s block {height} had room for, and left out, an offence it observed: {offence}"
            ),
            Violation::StuckSyncing { node, since_ms, height } => write!(
                f,
                "STUCK SYNCING: honest node {node} at height {height}, which no node has passed, is syncing since t={since_ms}ms"
            ),
            Violation::Liveness { node, decided, target, deadline_ms, nodes } => write!(
                f,
                "LIVENESS: honest node {node} decided {decided} of {target} heights by t={deadline_ms}ms; nodes: {nodes}"
            ),
            Violation::EventBudget { events } => write!(f, "LIVENESS: event budget of {events} exhausted"),
            Violation::Setup { error } => write!(f, "SETUP: {error}"),
        }
    }
}
