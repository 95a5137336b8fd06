//! The engine: validates untrusted inputs, keeps votes and proposals of the
//! current height, and runs the state machine through the driver.

use crate::certificate::CommitCertificate;
use crate::config::EngineConfig;
use crate::crypto::{Hash, Keypair, PublicKey};
use crate::error::{EngineError, InputError};
use crate::evidence::Evidence;
use crate::future::{FutureBuffer, Kept};
use crate::io::{Decision, Input, Output, Outputs};
use crate::proposer::proposer;
use crate::safety::SafetyRecord;
use crate::state_machine::{Event, State, Step, TimeoutStep};
use crate::types::{Height, Message, Round, SignedProposal, SignedVote, Value, VoteKind};
use crate::validator_set::ValidatorSet;
use crate::vote_keeper::{AddOutcome, VoteKeeper, ROUNDS_AHEAD_MAX};
use std::collections::{BTreeMap, BTreeSet};

/// A proposal of the current height and what the host said about its value.
#[derive(Clone, Debug)]
pub(crate) struct ProposalEntry {
    pub(crate) signed: SignedProposal,
    /// None until the host answers [`Output::ValidateValue`].
    pub(crate) valid: Option<bool>,
}

/// One validator's (or observer's) consensus engine for one chain.
#[derive(Debug)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    /// The key this engine signs with at the current height: of the keys
    /// it holds, the one the height's validator set lists
    /// ([`Engine::hold_next_key`]).
    pub(crate) keypair: Keypair,
    /// A second validator key the node holds: its next one while a key
    /// rotation takes effect (or the previous one, after it did). At most
    /// one, so an engine never holds more than two keys.
    pub(crate) other_key: Option<Keypair>,
    pub(crate) validators: ValidatorSet,
    pub(crate) state: State,
    pub(crate) votes: VoteKeeper,
    pub(crate) proposals: BTreeMap<Round, ProposalEntry>,
    pub(crate) safety: SafetyRecord,
    /// Verified messages for the next height, replayed when it starts.
    pub(crate) future: FutureBuffer,
    /// The next height's validator set, when the host knows it: messages
    /// for the next height are verified against it before they are kept.
    pub(crate) next_validators: Option<ValidatorSet>,
    pub(crate) evidence_reported: BTreeSet<(PublicKey, Round, VoteKind)>,
    /// Rounds of this height whose conflicting proposals were reported.
    pub(crate) evidence_proposals: BTreeSet<Round>,
    /// Signed during the current input, released after the record is durable.
    pub(crate) unsent: Vec<Message>,
    pub(crate) now_ms: u64,
    /// When the current height started (the input that started it):
    /// round 0 waits for [`crate::TimeoutConfig::block_interval_min_ms`]
    /// after it.
    pub(crate) height_started_ms: u64,
    /// Transactions arrived before the block interval was up and a
    /// [`TimeoutStep::BlockInterval`] timer is set for this height.
    pub(crate) block_interval_scheduled: bool,
    pub(crate) refused_signatures: u64,
}

impl Engine {
    /// An engine at `height` with that height's validator set. `record` is the
    /// last persisted safety record (None on first start): the engine never
    /// signs below its last signed position, and resumes its lock and round if
    /// the record is for `height`.
    pub fn new(
        config: EngineConfig,
        keypair: Keypair,
        height: Height,
        validators: ValidatorSet,
        record: Option<SafetyRecord>,
    ) -> Result<Self, EngineError> {
        if height == 0 {
            return Err(EngineError::HeightZero);
        }
        let mut state = State::new(height);
        let safety = record.unwrap_or_default();
        let mut votes = VoteKeeper::new();
        if safety.height == height {
            state.locked = safety.locked;
            state.valid = safety.valid.clone();
            restore_valid_proof(&mut votes, &safety, &validators, config.chain_id());
        }
        Ok(Engine {
            keypair,
            other_key: None,
            validators,
            state,
            votes,
            proposals: BTreeMap::new(),
            future: FutureBuffer::new(config.future_messages_max, config.future_bytes_max()),
            next_validators: None,
            safety,
            evidence_reported: BTreeSet::new(),
            evidence_proposals: BTreeSet::new(),
            unsent: Vec::new(),
            height_started_ms: 0,
            block_interval_scheduled: false,
            now_ms: 0,
            refused_signatures: 0,
            config,
        })
    }

    /// Hold a second validator key (the cooperative's next one, loaded
    /// before its rotation is sent): from the first height whose validator
    /// set lists it and not the current key, the engine signs with it. A
    /// key held before is replaced; the key in use never is. Switching
    /// keys is safe for the safety record: it is kept per height and
    /// round, whatever key signs.
    pub fn hold_next_key(&mut self, keypair: Keypair) {
        if keypair.public() == self.keypair.public() {
            return;
        }
        self.other_key = Some(keypair);
        self.choose_key();
    }

    /// Whether the engine holds a key with this public key.
    pub fn holds_key(&self, key: &PublicKey) -> bool {
        self.keypair.public() == *key || self.other_key.as_ref().is_some_and(|k| k.public() == *key)
    }

    /// Sign with the held key the current height's set lists (the current
    /// key if it does, or if neither does).
    fn choose_key(&mut self) {
        if self.validators.power_of(&self.keypair.public()) > 0 {
            return;
        }
        let other_listed = self
            .other_key
            .as_ref()
            .is_some_and(|k| self.validators.power_of(&k.public()) > 0);
        if other_listed {
            if let Some(other) = self.other_key.take() {
                let previous = std::mem::replace(&mut self.keypair, other);
                self.other_key = Some(previous);
            }
        }
    }

    /// Tell the engine the next height's validator set, so that messages
    /// for that height can be verified and kept (without it they are
    /// refused). [`Input::NextHeight`] carries the set after that.
    pub fn set_next_validators(&mut self, validators: ValidatorSet) {
        self.next_validators = Some(validators);
    }

    /// The next height's validator set, if the host gave it.
    pub fn next_validators(&self) -> Option<&ValidatorSet> {
        self.next_validators.as_ref()
    }

    /// Messages and bytes kept for the next height.
    pub fn future_buffered(&self) -> (usize, usize) {
        (self.future.len(), self.future.bytes())
    }

    /// Start the height the engine was built for. A restarted engine resumes
    /// the round of its record; a fresh one waits for transactions (or the
    /// empty-block interval) before round 0.
    pub fn start(&mut self, now_ms: u64) -> Outputs {
        self.now_ms = now_ms;
        self.height_started_ms = now_ms;
        self.block_interval_scheduled = false;
        let mut out = Outputs::default();
        let resume = self.safety.height == self.state.height && self.safety.last_signed.is_some();
        if resume {
            let round = self.safety.round;
            self.enter_round(round, &mut out);
            self.resend_round_votes();
            self.drive(&mut out);
        } else {
            out.push(self.timeout(0, TimeoutStep::EmptyBlock));
        }
        self.finish(out)
    }

    pub fn height(&self) -> Height {
        self.state.height
    }

    pub fn round(&self) -> Round {
        self.state.round
    }

    pub fn step(&self) -> Step {
        self.state.step
    }

    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    pub fn public_key(&self) -> PublicKey {
        self.keypair.public()
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The in-memory safety record (what the next [`Output::Send`] persists).
    pub fn safety_record(&self) -> &SafetyRecord {
        &self.safety
    }

    /// The proof of lock for our `validValue`: the prevotes for it in
    /// `validRound`. Hosts gossip these along with our own messages, so that
    /// when we re-propose the value (paper line 16) the others can check line
    /// 28 even if some of those prevotes reached only us.
    pub fn proof_of_lock(&self) -> Vec<SignedVote> {
        match &self.state.valid {
            Some((round, value)) => self
                .votes
                .votes_for(*round, VoteKind::Prevote, Some(value.id))
                .into_iter()
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// The precommits of the previous round: the proof that it ended (paper
    /// line 47 needs 2f+1 of them). Hosts re-gossip these so a validator that
    /// missed some (say, from a peer that crashed before re-sending them) can
    /// time out of that round too. Empty in round 0.
    pub fn round_change_proof(&self) -> Vec<SignedVote> {
        match self.state.round.checked_sub(1) {
            Some(previous) => self
                .votes
                .votes(previous, VoteKind::Precommit)
                .into_iter()
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// How often the safety record stopped the engine from signing (only
    /// after a restart can this be non-zero).
    pub fn refused_signatures(&self) -> u64 {
        self.refused_signatures
    }

    /// Handle one input at host time `now_ms`. An `Err` means the input was
    /// dropped and nothing changed.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Result<Outputs, InputError> {
        self.now_ms = now_ms;
        let mut out = Outputs::default();
        match input {
            Input::Proposal(p) => self.on_proposal(p, &mut out)?,
            Input::Vote(v) => self.on_vote(v, &mut out)?,
            Input::TimeoutElapsed {
                height,
                round,
                step,
            } => self.on_timeout(height, round, step, &mut out),
            Input::ValueReady {
                height,
                round,
                value,
            } => {
                if height == self.state.height && round == self.state.round {
                    self.apply(Event::ValueReady { value }, &mut out);
                }
            }
            Input::ValueValidated {
                height,
                round,
                value_id,
                valid,
            } => self.on_validated(height, round, value_id, valid),
            Input::TxsAvailable { height } => {
                if height == self.state.height && self.state.step == Step::NewHeight {
                    self.on_txs_available(&mut out);
                }
            }
            Input::BlockSynced { value, certificate } => {
                self.on_synced(value, certificate, &mut out)?
            }
            Input::NextHeight {
                height,
                validators,
                next_validators,
            } => {
                return self.next_height(height, validators, next_validators);
            }
        }
        self.drive(&mut out);
        Ok(self.finish(out))
    }

    /// Put the signed messages of this input, behind the record, first.
    fn finish(&mut self, mut out: Outputs) -> Outputs {
        if !self.unsent.is_empty() {
            let mut record = self.safety.clone();
            record.locked = self.state.locked;
            let valid_of = |v: &Option<(Round, Value)>| v.as_ref().map(|(r, v)| (*r, v.id));
            if valid_of(&record.valid) != valid_of(&self.state.valid) {
                record.valid_proof = self.proof_of_lock();
            }
            record.valid = self.state.valid.clone();
            self.safety = record.clone();
            let messages = std::mem::take(&mut self.unsent);
            out.push_front(Output::Send(crate::safety::PendingSend::new(
                record, messages,
            )));
        }
        out
    }

    /// Check height: the current height is fine (true); a message for the
    /// next height is verified and kept for later (false), a conflict with
    /// a kept one becomes evidence.
    fn admit_height(&mut self, message: &Message, out: &mut Outputs) -> Result<bool, InputError> {
        let (current, got) = (self.state.height, message.height());
        if got == current {
            return Ok(true);
        }
        if Some(got) != current.checked_add(1) {
            return Err(InputError::WrongHeight { current, got });
        }
        self.verify_future(message)?;
        match self.future.keep(message.clone()) {
            Kept::New | Kept::Duplicate => Ok(false),
            Kept::Conflict(kept) => {
                out.push(Output::Evidence(conflict_evidence(&kept, message)?));
                Ok(false)
            }
            Kept::ConflictAgain => Err(InputError::ConflictAlreadyReported {
                height: got,
                round: message.round(),
                validator: message.signer(),
            }),
            Kept::Full => Err(InputError::FutureBufferFull { height: got }),
        }
    }

    /// The checks a next-height message passes before it is kept: the
    /// signer is in the next set (and the round's proposer, for a
    /// proposal), the round is within the window, the value within its
    /// bound, and the signature verifies.
    fn verify_future(&self, message: &Message) -> Result<(), InputError> {
        let (height, round, validator) = (message.height(), message.round(), message.signer());
        let Some(set) = self.next_validators.as_ref() else {
            return Err(InputError::NextSetUnknown { height });
        };
        if round > ROUNDS_AHEAD_MAX {
            return Err(InputError::RoundTooFarAhead {
                height,
                round,
                current: 0,
            });
        }
        if set.power_of(&validator) == 0 {
            return Err(InputError::UnknownValidator { height, validator });
        }
        let bad_signature = |source| InputError::BadSignature {
            height,
            round,
            validator,
            source,
        };
        match message {
            Message::Proposal(signed) => {
                let expected = proposer(set, height, round)
                    .ok_or(InputError::ProposerNotFound { height, round })?;
                if expected.key != validator {
                    return Err(InputError::NotProposer {
                        height,
                        round,
                        validator,
                    });
                }
                self.check_proposal_shape(signed)?;
                signed.verify(self.config.chain_id()).map_err(bad_signature)
            }
            Message::Vote(signed) => signed.verify(self.config.chain_id()).map_err(bad_signature),
        }
    }

    /// Valid round below the round, value within the size bound.
    fn check_proposal_shape(&self, signed: &SignedProposal) -> Result<(), InputError> {
        let p = &signed.proposal;
        let (height, round, validator) = (p.height, p.round, p.proposer);
        if let Some(valid_round) = p.valid_round.filter(|vr| *vr >= round) {
            return Err(InputError::InvalidValidRound {
                height,
                round,
                valid_round,
                validator,
            });
        }
        let len = p.value.bytes.len();
        if len > self.config.value_bytes_max {
            let max = self.config.value_bytes_max;
            return Err(InputError::ValueTooLarge {
                height,
                round,
                len,
                max,
            });
        }
        Ok(())
    }

    fn check_round_window(&self, round: Round) -> Result<(), InputError> {
        if round > self.state.round.saturating_add(ROUNDS_AHEAD_MAX) {
            return Err(InputError::RoundTooFarAhead {
                height: self.state.height,
                round,
                current: self.state.round,
            });
        }
        Ok(())
    }

    fn on_proposal(&mut self, signed: SignedProposal, out: &mut Outputs) -> Result<(), InputError> {
        if !self.admit_height(&Message::Proposal(signed.clone()), out)? {
            return Ok(());
        }
        let p = &signed.proposal;
        let (height, round, validator) = (p.height, p.round, p.proposer);
        self.check_round_window(round)?;
        let expected = proposer(&self.validators, height, round)
            .ok_or(InputError::ProposerNotFound { height, round })?;
        if expected.key != validator {
            return Err(InputError::NotProposer {
                height,
                round,
                validator,
            });
        }
        self.check_proposal_shape(&signed)?;
        if let Some(existing) = self.proposals.get(&round) {
            if existing.signed == signed {
                return Ok(());
            }
            signed
                .verify(self.config.chain_id())
                .map_err(|source| InputError::BadSignature {
                    height,
                    round,
                    validator,
                    source,
                })?;
            // Two different signed proposals for one round: evidence (the
            // second one is dropped, and reported once). The same signed
            // content with other bytes proves nothing against the signer
            // (anyone can swap the bytes under a signed id).
            let proves =
                !crate::future::proposals_sign_same(&existing.signed.proposal, &signed.proposal);
            if proves && self.evidence_proposals.insert(round) {
                let first = &existing.signed;
                out.push(Output::Evidence(Evidence::conflicting_proposals(
                    first, &signed,
                )));
                return Ok(());
            }
            return Err(InputError::ConflictingProposal {
                height,
                round,
                validator,
            });
        }
        signed
            .verify(self.config.chain_id())
            .map_err(|source| InputError::BadSignature {
                height,
                round,
                validator,
                source,
            })?;
        let value = p.value.clone();
        let valid_round = p.valid_round;
        let known = self.known_validity(&value);
        self.proposals.insert(
            round,
            ProposalEntry {
                signed,
                valid: known,
            },
        );
        if known.is_none() {
            out.push(Output::ValidateValue {
                height,
                round,
                value,
                proposer: validator,
                valid_round,
            });
        }
        self.leave_new_height(out);
        Ok(())
    }

    /// The host's verdict on `value` from an earlier round, if any. Only a
    /// proposal with the same id *and bytes* shares a verdict: a proposal
    /// signs the id, not the bytes, so a Byzantine proposer can pair a valid
    /// value's id with other bytes, and those must be validated on their own.
    fn known_validity(&self, value: &Value) -> Option<bool> {
        self.proposals
            .values()
            .find(|e| e.signed.proposal.value == *value && e.valid.is_some())
            .and_then(|e| e.valid)
    }

    fn on_vote(&mut self, signed: SignedVote, out: &mut Outputs) -> Result<(), InputError> {
        if !self.admit_height(&Message::Vote(signed.clone()), out)? {
            return Ok(());
        }
        let v = &signed.vote;
        let (height, round, validator) = (v.height, v.round, v.validator);
        let power = self.validators.power_of(&validator);
        if power == 0 {
            return Err(InputError::UnknownValidator { height, validator });
        }
        self.check_round_window(round)?;
        if self.votes.contains(&signed) {
            return Ok(()); // exact duplicate of a verified vote
        }
        signed
            .verify(self.config.chain_id())
            .map_err(|source| InputError::BadSignature {
                height,
                round,
                validator,
                source,
            })?;
        let kind = v.kind;
        let proposed = v.value_id.is_none_or(|id| {
            self.proposals
                .values()
                .any(|e| e.signed.proposal.value.id == id)
        });
        let outcome = if proposed {
            self.votes.add_proposed(signed, power)
        } else {
            self.votes.add(signed, power)
        };
        if let AddOutcome::Conflict(evidence) = outcome {
            if self.evidence_reported.insert((validator, round, kind)) {
                out.push(Output::Evidence(*evidence));
            }
        }
        self.leave_new_height(out);
        Ok(())
    }

    /// Transactions are waiting while the height waits for them: round 0
    /// starts now if the height is at least
    /// [`crate::TimeoutConfig::block_interval_min_ms`] old, otherwise when
    /// it will be (one timer per height; a message of the height from
    /// another validator still starts round 0 at once).
    fn on_txs_available(&mut self, out: &mut Outputs) {
        let interval_ms = self.config.timeouts.block_interval_min_ms;
        let ready_ms = self.height_started_ms.saturating_add(interval_ms);
        if self.now_ms >= ready_ms {
            self.enter_round(0, out);
        } else if !self.block_interval_scheduled {
            self.block_interval_scheduled = true;
            out.push(Output::ScheduleTimeout {
                height: self.state.height,
                round: 0,
                step: TimeoutStep::BlockInterval,
                deadline_ms: ready_ms,
            });
        }
    }

    /// A message of this height arrived while waiting for transactions:
    /// the others have started, so start round 0 too.
    fn leave_new_height(&mut self, out: &mut Outputs) {
        if self.state.step == Step::NewHeight {
            self.enter_round(0, out);
        }
    }

    fn on_timeout(&mut self, height: Height, round: Round, step: TimeoutStep, out: &mut Outputs) {
        if height != self.state.height {
            return;
        }
        let event = match step {
            TimeoutStep::EmptyBlock | TimeoutStep::BlockInterval => {
                return self.leave_new_height(out)
            }
            TimeoutStep::Propose => Event::TimeoutPropose { round },
            TimeoutStep::Prevote => Event::TimeoutPrevote { round },
            TimeoutStep::Precommit => Event::TimeoutPrecommit { round },
        };
        self.apply(event, out);
    }

    /// The verdict is for the value of `round`'s proposal; proposals of
    /// other rounds with the same value (id and bytes) still waiting for a
    /// verdict share it.
    fn on_validated(&mut self, height: Height, round: Round, value_id: Hash, valid: bool) {
        if height != self.state.height {
            return;
        }
        let Some(value) = self
            .proposals
            .get(&round)
            .map(|e| &e.signed.proposal.value)
            .filter(|v| v.id == value_id)
        else {
            return;
        };
        let rounds: Vec<Round> = self
            .proposals
            .iter()
            .filter(|(r, e)| {
                e.signed.proposal.value == *value && (**r == round || e.valid.is_none())
            })
            .map(|(r, _)| *r)
            .collect();
        for r in rounds {
            if let Some(entry) = self.proposals.get_mut(&r) {
                entry.valid = Some(valid);
            }
        }
    }

    fn on_synced(
        &mut self,
        value: Value,
        certificate: CommitCertificate,
        out: &mut Outputs,
    ) -> Result<(), InputError> {
        let height = self.state.height;
        if certificate.height != height {
            return Err(InputError::WrongHeight {
                current: height,
                got: certificate.height,
            });
        }
        if self.state.step == Step::Commit {
            return Ok(());
        }
        if value.id != certificate.value_id {
            return Err(InputError::SyncedValueMismatch {
                height,
                value_id: value.id,
                certified: certificate.value_id,
            });
        }
        certificate
            .verify_with_rule(
                self.config.chain_id(),
                &self.validators,
                self.config.quorum_rule,
            )
            .map_err(|source| InputError::BadCertificate { height, source })?;
        self.state.step = Step::Commit;
        out.push(Output::Decide(Decision {
            height,
            value,
            certificate,
        }));
        Ok(())
    }

    fn next_height(
        &mut self,
        height: Height,
        validators: ValidatorSet,
        next_validators: Option<ValidatorSet>,
    ) -> Result<Outputs, InputError> {
        let current = self.state.height;
        if self.state.step != Step::Commit || Some(height) != current.checked_add(1) {
            return Err(InputError::NotDecided {
                current,
                requested: height,
            });
        }
        self.validators = validators;
        self.next_validators = next_validators;
        self.choose_key();
        self.state = State::new(height);
        self.votes = VoteKeeper::new();
        self.proposals.clear();
        self.evidence_reported.clear();
        self.evidence_proposals.clear();
        let mut out = self.start(self.now_ms);
        for message in self.future.take() {
            let input = match message {
                Message::Proposal(p) => Input::Proposal(p),
                Message::Vote(v) => Input::Vote(v),
            };
            // A buffered message that is now invalid is dropped, as it would
            // have been on arrival.
            if let Ok(more) = self.handle(self.now_ms, input) {
                out.append(more);
            }
        }
        Ok(out)
    }

    pub(crate) fn timeout(&self, round: Round, step: TimeoutStep) -> Output {
        let duration = self.config.timeouts.duration_ms(step, round);
        Output::ScheduleTimeout {
            height: self.state.height,
            round,
            step,
            deadline_ms: self.now_ms.saturating_add(duration),
        }
    }
}

/// Evidence from two different messages of one slot (same signer, height,
/// round and kind; both verified).
fn conflict_evidence(kept: &Message, new: &Message) -> Result<Evidence, InputError> {
    match (kept, new) {
        (Message::Vote(first), Message::Vote(second)) => Ok(Evidence::DuplicateVote {
            first: first.clone(),
            second: second.clone(),
        }),
        (Message::Proposal(first), Message::Proposal(second)) => {
            Ok(Evidence::conflicting_proposals(first, second))
        }
        _ => Err(InputError::ConflictAlreadyReported {
            height: new.height(),
            round: new.round(),
            validator: new.signer(),
        }),
    }
}

/// Count again, after a restart, the polka the record kept for its valid
/// value ([`SafetyRecord::valid_proof`]). Each vote is checked as if it had
/// come from a peer (the record is our own file, but nothing unverified is
/// counted): a prevote at this height, in the valid round, for the valid
/// value, by a validator of the height, correctly signed.
fn restore_valid_proof(
    votes: &mut VoteKeeper,
    record: &SafetyRecord,
    validators: &ValidatorSet,
    chain_id: &str,
) {
    let Some((round, value)) = &record.valid else {
        return;
    };
    for signed in &record.valid_proof {
        let v = &signed.vote;
        let power = validators.power_of(&v.validator);
        let fits = v.height == record.height
            && v.round == *round
            && v.kind == VoteKind::Prevote
            && v.value_id == Some(value.id)
            && power > 0;
        if fits && signed.verify(chain_id).is_ok() {
            let _ = votes.add(signed.clone(), power);
        }
    }
}
