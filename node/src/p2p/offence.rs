//! What a peer can do wrong, and how much each offence counts towards a ban.

use super::config::{
    OFFENCE_POINTS_BAD_SYNC_PAGE, OFFENCE_POINTS_FALSE_HEIGHT_CLAIM, OFFENCE_POINTS_INVALID_GOSSIP,
    OFFENCE_POINTS_OVER_BUDGET,
};

/// A misbehaviour the node or the networking layer holds against a peer.
/// Each adds its [`Offence::points`] to the peer's (decaying) penalty; a
/// peer whose penalty reaches [`super::config::BAN_PENALTY_POINTS`] is
/// disconnected and banned for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offence {
    /// Gossip the node judged provably bad (`Verdict::Reject`): a forged
    /// signature, a signer that is no validator, an undecodable message.
    InvalidGossip,
    /// A catch-up page that does not verify (bad certificate, wrong
    /// blocks) or cannot be decoded.
    BadSyncPage,
    /// The peer announced a height it then could not serve.
    FalseHeightClaim,
    /// A message or request beyond the peer's budget (counted by the
    /// networking layer itself for every dropped message).
    OverBudget,
}

impl Offence {
    /// Penalty points this offence adds.
    pub fn points(self) -> u64 {
        match self {
            Offence::InvalidGossip => OFFENCE_POINTS_INVALID_GOSSIP,
            Offence::BadSyncPage => OFFENCE_POINTS_BAD_SYNC_PAGE,
            Offence::FalseHeightClaim => OFFENCE_POINTS_FALSE_HEIGHT_CLAIM,
            Offence::OverBudget => OFFENCE_POINTS_OVER_BUDGET,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Offence::InvalidGossip => "invalid gossip",
            Offence::BadSyncPage => "bad catch-up page",
            Offence::FalseHeightClaim => "false height claim",
            Offence::OverBudget => "over budget",
        }
    }
}

impl std::fmt::Display for Offence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
