//! kopnet consensus: an I/O-free BFT engine.
//!
//! This crate does no I/O: no tokio, libp2p, sled, filesystem, threads, wall
//! clock or randomness. It knows nothing of the ledger (the values it orders
//! are opaque bytes) and depends on one kopnet crate, `kopnet-primitives`,
//! the leaf that holds the codec, hashes, keys and signatures it shares with
//! the ledger. They are re-exported here ([`codec`], [`crypto`],
//! [`Hash`](struct@Hash), [`PublicKey`], ...) so hosts can keep using them
//! from this crate. `cargo tree -p kopnet-consensus -e normal` shows all of
//! it.
//!
//! # The engine
//!
//! [`Engine`] is Tendermint (Buchman, Kwon, Milosevic, *The latest gossip on
//! BFT consensus*, 2018, arXiv:1807.04938, Algorithm 1) as a pure state
//! machine: propose / prevote / precommit rounds with locking
//! (`lockedValue`/`lockedRound`) and `validValue`/`validRound`, and timeouts
//! that grow with the round. The round logic is one `match` in
//! [`state_machine`], whose arms cite the paper's lines (`// L22`, `// L28`,
//! `// L36`, `// L44`, `// L49`, `// L55`, ...). The driver turns the counted
//! votes ([`vote_keeper`]) into the paper's `upon` conditions.
//!
//! The host feeds [`Input`]s (messages, timer expiries, the values it built
//! or validated, transactions available, synced blocks, the next height's
//! validator set) with its current time, and carries out the returned
//! [`Outputs`] in order:
//!
//! * [`Output::Send`] holds signed messages behind the [`SafetyRecord`]; they
//!   can only be taken out through [`PendingSend::persist`], after a
//!   [`SafetyStore`] reports the record durable (persist before send). A
//!   restarted engine built from its record never signs two different values
//!   for one height/round/step. [`safety_faults`] wraps a store with
//!   injected save and sync failures (and a power cut that loses an unsynced
//!   record) for the node host's tests and the simulator.
//! * timers, value requests and validations are outputs; values are opaque
//!   bytes with a host-computed id;
//! * [`Output::Decide`] carries a [`CommitCertificate`] (precommits of more
//!   than 2/3 of the power) that anyone can `verify`.
//!
//! The engine assumes Tendermint's gossip: a vote one correct validator
//! received eventually reaches the others. Besides re-sending its own
//! messages of the current height, a host should periodically gossip
//! [`Engine::proof_of_lock`] (the prevotes behind our `validValue`) and
//! [`Engine::round_change_proof`] (the previous round's precommits); the
//! simulator showed both are needed for liveness when a Byzantine validator
//! sends different votes to different peers or a node crashes before
//! sending. A restarted engine re-sends the votes its record says it signed
//! in its current round.
//!
//! Round 0 of a height starts when transactions are available, when a message
//! of the height arrives, or after `empty_block_interval_ms`, so an idle
//! network makes at most one empty block per interval. Proposers rotate by
//! voting power ([`proposer`]). Validator-set changes committed in block `h`
//! apply from `h + 2` ([`VALIDATOR_SET_CHANGE_DELAY`]); the host passes each
//! height's set to [`Input::NextHeight`].

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod certificate;
pub mod config;
mod driver;
pub mod engine;
pub mod error;
pub mod evidence;
pub mod future;
pub mod io;
pub mod proposer;
pub mod quorum;
pub mod safety;
pub mod safety_faults;
pub mod safety_format;
pub mod state_machine;
pub mod types;
pub mod validator_set;
pub mod vote_keeper;

pub use kopnet_primitives::{codec, crypto};

pub use certificate::{CertificateError, CommitCertificate, CommitSignature};
pub use config::{ConfigError, EngineConfig, TimeoutConfig};
pub use crypto::{Hash, Keypair, PreparedKey, PublicKey, Signature};
pub use engine::Engine;
pub use error::{EngineError, InputError};
pub use evidence::{Evidence, EvidenceError, Offence, SignedProposalHeader};
pub use io::{Decision, Input, Output, Outputs};
pub use quorum::QuorumRule;
pub use safety::{PendingSend, SafetyRecord, SafetyStore, SignPosition, SignStep};
pub use safety_format::SafetyDecodeError;
pub use state_machine::{Step, TimeoutStep};
pub use types::{
    Height, Message, Proposal, Round, SignedProposal, SignedVote, Value, Vote, VoteKind,
};
pub use validator_set::{Validator, ValidatorSet, ValidatorSetError, VALIDATOR_SET_CHANGE_DELAY};
