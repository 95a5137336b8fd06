//! Hostile nodes for the fault-injection runner (cargo feature
//! `fault-injection`,
//! `KOPNET_FAULT=equivocate|future-flood|false-hints|gossip-spam|old-key`).
//!
//! A hostile node runs its honest work unchanged and, beside it, one task
//! that attacks its peers with its own key: [`equivocate`], [`flood`],
//! [`hints`] or [`spam`]; or, after a key rotation, with its retired
//! validator key ([`old_key`]). The runtime tells the task what it needs through
//! a [`HostileHook`] (its own broadcasts, the gossip it received) and asks
//! it for the answer to a catch-up request; nothing here changes what the
//! host decides. Every message sent is counted in
//! `kopnet_hostile_messages_sent_total{behaviour="..."}`.
//!
//! Pace: as fast as the local gossip layer takes the messages (each
//! publish waits for the swarm task), or `KOPNET_HOSTILE_RATE` messages a
//! second when set. Bounded: the hook's channel ([`SEEN_MAX`]) drops what
//! the task has no room for, and every buffer the tasks keep is capped.

mod equivocate;
mod flood;
mod hints;
pub mod old_key;
mod spam;

pub use old_key::NoRetiredKey;

use crate::fault::{FaultSettingError, Hostile};
use crate::node_state::NodeState;
use crate::p2p::{P2pHandle, Topic};
use crate::wire::SyncResponse;
use kopnet_consensus::types::Message;
use kopnet_consensus::Keypair;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What the runtime saw, waiting for the hostile task.
pub const SEEN_MAX: usize = 256;
/// Pause after a publish failed (no peers yet, queues full), so a failing
/// loop does not spin.
const FAILED_PUBLISH_BACKOFF: Duration = Duration::from_millis(50);

/// What the runtime passes on to the hostile task.
#[derive(Debug)]
enum Seen {
    /// A proposal or vote this node broadcast.
    OwnBroadcast(Message),
    /// Gossip this node received.
    Gossip { topic: Topic, data: Vec<u8> },
}

/// The runtime's side: cheap, never blocks.
#[derive(Debug)]
pub struct HostileHook {
    behaviour: Hostile,
    seen: mpsc::Sender<Seen>,
    node: Arc<NodeState>,
}

impl HostileHook {
    /// The node broadcast its own proposal or vote (`equivocate` answers
    /// it, `old-key` signs its votes again with the retired key).
    pub fn own_broadcast(&self, message: &Message) {
        if matches!(self.behaviour, Hostile::Equivocate | Hostile::OldKey) {
            let _ = self.seen.try_send(Seen::OwnBroadcast(message.clone()));
        }
    }

    /// The node received gossip (`gossip-spam` re-sends it).
    pub fn gossip(&self, topic: Topic, data: &[u8]) {
        if self.behaviour == Hostile::GossipSpam {
            let _ = self.seen.try_send(Seen::Gossip {
                topic,
                data: data.to_vec(),
            });
        }
    }

    /// The answer to a catch-up request in place of the honest one
    /// (`false-hints`: a bad page), or `None` to answer honestly.
    pub fn sync_answer(&self, honest: &SyncResponse) -> Option<SyncResponse> {
        if self.behaviour != Hostile::FalseHints {
            return None;
        }
        let height = self.node.metrics.height.load(Ordering::Relaxed);
        self.node.metrics.hostile_sent(self.behaviour.name(), 1);
        Some(hints::bad_page(height, honest))
    }
}

/// Everything a hostile task works with.
pub struct Context {
    pub behaviour: Hostile,
    /// The key its consensus messages are signed with (a validator's
    /// validator key, an observer's identity).
    pub keypair: Keypair,
    /// The validator key the ledger no longer lists for this node's
    /// cooperative (`old-key` signs with it; see [`old_key::retired_key`]).
    pub retired_validator_key: Result<Keypair, NoRetiredKey>,
    pub node: Arc<NodeState>,
    pub p2p: P2pHandle,
    pub shutdown: watch::Receiver<bool>,
}

impl Context {
    fn chain_id(&self) -> &str {
        &self.node.chain_id
    }

    /// The node's committed height.
    fn height(&self) -> u64 {
        self.node.metrics.height.load(Ordering::Relaxed)
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// Publishes for one behaviour, paced and counted.
struct Publisher {
    p2p: P2pHandle,
    node: Arc<NodeState>,
    behaviour: &'static str,
    pace: Option<tokio::time::Interval>,
}

impl Publisher {
    fn new(ctx: &Context, rate: Option<u32>) -> Publisher {
        let pace = rate.map(|per_sec| {
            let mut interval = tokio::time::interval(Duration::from_secs(1) / per_sec.max(1));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval
        });
        Publisher {
            p2p: ctx.p2p.clone(),
            node: ctx.node.clone(),
            behaviour: ctx.behaviour.name(),
            pace,
        }
    }

    /// Publish one message; counted when the gossip layer took it.
    async fn send(&mut self, topic: Topic, data: Vec<u8>) {
        if let Some(pace) = &mut self.pace {
            pace.tick().await;
        }
        match self.p2p.publish(topic, data).await {
            Ok(()) => self.node.metrics.hostile_sent(self.behaviour, 1),
            Err(error) => {
                tracing::debug!(%error, behaviour = self.behaviour, "hostile message not published");
                tokio::time::sleep(FAILED_PUBLISH_BACKOFF).await;
            }
        }
        // Leave the honest work of this node a turn.
        tokio::task::yield_now().await;
    }
}

/// Start the hostile task of `ctx.behaviour`; the runtime keeps the hook.
/// `KOPNET_HOSTILE_RATE` paces it (read here, once). `old-key` without a
/// retired key is refused here, before anything runs.
pub fn spawn(ctx: Context) -> Result<HostileHook, FaultSettingError> {
    let rate = crate::fault::hostile_rate_from_env()?;
    let retired = match ctx.behaviour {
        Hostile::OldKey => Some(ctx.retired_validator_key.clone()?),
        _ => None,
    };
    let (seen_tx, seen_rx) = mpsc::channel(SEEN_MAX);
    let hook = HostileHook {
        behaviour: ctx.behaviour,
        seen: seen_tx,
        node: ctx.node.clone(),
    };
    tracing::warn!(
        behaviour = ctx.behaviour.name(),
        ?rate,
        retired_key = ?retired.as_ref().map(|k| k.public().to_address()),
        "HOSTILE NODE: attacking its peers on purpose"
    );
    let publisher = Publisher::new(&ctx, rate);
    tokio::spawn(async move {
        match ctx.behaviour {
            Hostile::Equivocate => equivocate::run(ctx, seen_rx, publisher).await,
            Hostile::FutureFlood => flood::run(ctx, publisher).await,
            Hostile::FalseHints => hints::run(ctx, publisher, rate.is_some()).await,
            Hostile::GossipSpam => spam::run(ctx, seen_rx, publisher).await,
            Hostile::OldKey => {
                if let Some(retired) = retired {
                    old_key::run(ctx, retired, seen_rx, publisher).await;
                }
            }
        }
    });
    Ok(hook)
}
