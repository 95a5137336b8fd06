//! Demo traffic for a local cooperative city: members and merchants at every
//! cooperative, an open-loop load at a target rate with a story-telling mix
//! (cross-cooperative merchant payments, a taxi driver paying at the consumer
//! cooperative's shop, cash-in and cash-out at other counters, ...), and
//! commit tracking from a node's `/v1/events` stream.

use super::mix::{LoadKind, Mix};
use anyhow::{anyhow, Context, Result};
use futures::StreamExt;
use kopnet_consensus::{Hash, Keypair, PublicKey};
use kopnet_ledger::{AccountKind, Action, CoopId, KycTier, Transaction, TxBody};
use kopnet_node::api::client::{Client, TxOutcome};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Opening balance of each demo member: Rp 2.000.000.
pub const OPENING_BALANCE: u64 = 2_000_000;
/// Most submissions in flight at once.
const IN_FLIGHT_MAX: usize = 256;
/// Most unconfirmed transactions per member (a person pays one at a time).
const PER_SIGNER_MAX: u32 = 1;
/// Picks per offered transaction before it is counted as not offered.
const PICK_TRIES: usize = 8;
/// A submission not seen in a block after this long is counted as lost.
const LOST_AFTER: Duration = Duration::from_secs(30);
/// Submit times kept for latency (older ones are dropped).
const TRACKED_MAX: usize = 500_000;
/// Blocks read per request by [`Traffic::follow_blocks`].
const FOLLOW_PAGE: u64 = 100;
/// Latency samples kept (the first ones; 16 MB; over half an hour at
/// 1,000 tx/s). Later commits still count, without a latency sample.
const LATENCIES_MAX: usize = 2_000_000;
/// Returned nonces remembered per signer.
const FREE_NONCES_MAX: usize = 1024;
/// Most load transactions of one cooperative in flight (below the node's
/// per-signer mempool window of 256, so none is refused as future_nonce).
const COOP_IN_FLIGHT_MAX: u32 = 128;
/// Most transactions the driver sends in one `POST /v1/txs` (within the
/// node's own limit of 256 and its 64 KiB body limit).
const SUBMIT_BATCH_MAX: usize = 128;
/// Setup transactions of one cooperative sent before waiting for them
/// (within one batch request and below the per-signer mempool window).
const SETUP_CHUNK: usize = 128;

#[derive(Debug)]
pub struct Signer {
    pub key: Keypair,
    pub next_nonce: u64,
    pub in_flight: u32,
    /// Nonces handed out whose submission failed before the node took it:
    /// reused first, so one failure does not leave a gap that strands every
    /// later nonce (bounded by [`FREE_NONCES_MAX`]).
    pub free: BTreeSet<u64>,
}

impl Signer {
    pub fn new(key: Keypair, next_nonce: u64) -> Signer {
        Signer {
            key,
            next_nonce,
            in_flight: 0,
            free: BTreeSet::new(),
        }
    }

    /// The nonce for the next transaction: the lowest returned one, else the next new one.
    pub fn take_nonce(&mut self) -> u64 {
        match self.free.pop_first() {
            Some(nonce) => nonce,
            None => {
                let nonce = self.next_nonce;
                self.next_nonce = self.next_nonce.saturating_add(1);
                nonce
            }
        }
    }

    /// A submission with `nonce` failed and the node did not take it.
    pub fn give_back(&mut self, nonce: u64) {
        if nonce < self.next_nonce && self.free.len() < FREE_NONCES_MAX {
            self.free.insert(nonce);
        }
    }

    /// Start again from the node's view (nothing of ours is in flight).
    pub fn resync(&mut self, next_nonce: u64) {
        self.next_nonce = next_nonce;
        self.free.clear();
    }
}

/// One cooperative with its key, node and demo accounts.
#[derive(Debug)]
pub struct CoopDemo {
    pub id: CoopId,
    pub node: Client,
    pub signer: Mutex<Signer>,
    pub members: Vec<usize>,
    pub merchants: Vec<usize>,
}

impl CoopDemo {
    /// Continue signing from the node's next nonce for this cooperative.
    async fn resync_from_node(&self) -> Result<()> {
        let key = self
            .signer
            .lock()
            .map_err(|_| anyhow!("lock"))?
            .key
            .public();
        let nonce = self.node.next_nonce(&key).await?;
        self.signer
            .lock()
            .map_err(|_| anyhow!("lock"))?
            .resync(nonce);
        Ok(())
    }
}

/// What the load has seen so far.
#[derive(Debug, Default)]
pub struct Stats {
    pub submitted: u64,
    pub committed: u64,
    pub committed_ok: u64,
    pub by_kind: BTreeMap<&'static str, u64>,
    pub rejected: BTreeMap<String, u64>,
    pub latencies_ms: Vec<u64>,
    pub last_height: u64,
    pub per_second: Vec<(u64, u64)>,
    /// Every submission seen committed, with its result code (first
    /// [`TRACKED_MAX`] only): what the fault-injection runner checks on
    /// every node afterwards.
    pub acknowledged: Vec<(Hash, String)>,
}

pub struct Traffic {
    pub chain_id: String,
    pub coops: Vec<CoopDemo>,
    /// Member and merchant signers, indexed by `CoopDemo::{members,merchants}`.
    pub accounts: Vec<(PublicKey, CoopId, Mutex<Signer>)>,
    pub stats: Arc<Mutex<Stats>>,
    tracked: Arc<Mutex<HashMap<Hash, Submission>>>,
    rng: Mutex<StdRng>,
    /// What the load sends (see [`Mix`]).
    mix: Mix,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("coops", &self.coops.len())
            .finish()
    }
}

/// A signed transaction ready to send, and whose slot it holds.
struct Prepared {
    tx: Transaction,
    node: Client,
    /// Index in `accounts`, or `usize::MAX - coop` for a cooperative signer.
    slot: usize,
    kind: &'static str,
}

/// When a transaction was submitted, by which signer slot, of which kind.
type Submission = (Instant, usize, &'static str);

const COOP_SLOT_BASE: usize = usize::MAX / 2;

impl Traffic {
    pub fn new(
        chain_id: &str,
        coops: Vec<(CoopId, Keypair, Client)>,
        members_per_coop: usize,
        merchants_per_coop: usize,
    ) -> Traffic {
        let mut accounts = Vec::new();
        let mut demos = Vec::new();
        for (id, key, node) in coops {
            let mut members = Vec::new();
            let mut merchants = Vec::new();
            for i in 0..members_per_coop + merchants_per_coop {
                let k = Keypair::generate(&mut rand::rngs::OsRng);
                let index = accounts.len();
                accounts.push((k.public(), id.clone(), Mutex::new(Signer::new(k, 1))));
                if i < members_per_coop {
                    members.push(index);
                } else {
                    merchants.push(index);
                }
            }
            demos.push(CoopDemo {
                id,
                node,
                signer: Mutex::new(Signer::new(key, 0)),
                members,
                merchants,
            });
        }
        Traffic {
            chain_id: chain_id.to_string(),
            coops: demos,
            accounts,
            stats: Arc::default(),
            tracked: Arc::default(),
            rng: Mutex::new(StdRng::from_entropy()),
            mix: Mix::default(),
        }
    }

    /// Send `mix` instead of the demo story's default mix.
    pub fn with_mix(mut self, mix: Mix) -> Traffic {
        self.mix = mix;
        self
    }

    fn sign(&self, key: &Keypair, nonce: u64, action: Action) -> Result<Transaction> {
        let body = TxBody {
            chain_id: self.chain_id.clone(),
            signer: key.public(),
            nonce,
            action,
        };
        Transaction::sign(body, key).map_err(|e| anyhow!("sign: {e}"))
    }

    /// Register every demo account and mint opening balances; wait for all.
    pub async fn setup(&mut self) -> Result<()> {
        for coop in &self.coops {
            coop.resync_from_node().await?;
        }
        // Each cooperative's setup goes in chunks of SETUP_CHUNK, each
        // waited for, so no chunk goes past the node's per-signer window
        // (a cooperative with many members would otherwise see its later
        // registrations refused as future_nonce).
        let mut plans: Vec<Vec<Action>> = Vec::new();
        for coop in &self.coops {
            let mut actions = Vec::new();
            for &index in coop.members.iter().chain(&coop.merchants) {
                let merchant = coop.merchants.contains(&index);
                let member = self.accounts[index].0;
                let (kind, tier) = if merchant {
                    (AccountKind::Merchant, KycTier::Business)
                } else {
                    (AccountKind::Member, KycTier::Registered)
                };
                actions.push(Action::RegisterMember { member, kind, tier });
                if !merchant {
                    actions.push(Action::Mint {
                        member,
                        amount: OPENING_BALANCE,
                    });
                }
            }
            plans.push(actions);
        }
        let rounds = plans
            .iter()
            .map(|p| p.len().div_ceil(SETUP_CHUNK))
            .max()
            .unwrap_or(0);
        for round in 0..rounds {
            let mut hashes = Vec::new();
            for (c, actions) in plans.iter().enumerate() {
                let chunk = actions.iter().skip(round * SETUP_CHUNK).take(SETUP_CHUNK);
                let txs = chunk
                    .map(|action| {
                        self.sign_coop(c, action.clone())
                            .ok_or_else(|| anyhow!("cannot sign for cooperative"))
                    })
                    .collect::<Result<Vec<_>>>()?;
                if txs.is_empty() {
                    continue;
                }
                let node = self.coops[c].node.clone();
                for result in node.submit_batch(&txs).await? {
                    hashes.push((node.clone(), result?));
                }
            }
            for (node, hash) in hashes {
                let outcome = node.wait(&hash, Duration::from_secs(60)).await?;
                if !outcome.ok() {
                    return Err(anyhow!(
                        "setup transaction {} failed: {}",
                        hash.to_hex(),
                        outcome.code
                    ));
                }
            }
        }
        // Every setup transaction has landed: none is in flight any more.
        for coop in &self.coops {
            coop.signer.lock().map_err(|_| anyhow!("lock"))?.in_flight = 0;
        }
        Ok(())
    }

    fn pick_amount(rng: &mut StdRng, low: u64, high: u64) -> u64 {
        rng.gen_range(low / 500..=high / 500) * 500
    }

    /// Choose and sign the next transaction, or None if the chosen signer is busy.
    fn prepare(&self) -> Option<Prepared> {
        let mut rng = self.rng.lock().ok()?;
        let n = self.coops.len();
        let kind = self.mix.pick_kind(&mut *rng)?;
        let ids: Vec<&str> = self.coops.iter().map(|c| c.id.as_str()).collect();
        let a = self.mix.pick_coop(&mut *rng, &ids)?;
        let mut b = rng.gen_range(0..n);
        if n > 1 && b == a {
            b = (a + 1 + rng.gen_range(0..n - 1)) % n;
        }
        let pick = |rng: &mut StdRng, list: &[usize]| {
            list.get(rng.gen_range(0..list.len().max(1))).copied()
        };
        let taxi = self
            .coops
            .iter()
            .position(|c| c.id.as_str() == "taksi-bersama");
        let consumer = self
            .coops
            .iter()
            .position(|c| c.id.as_str() == "konsumen-rukun");
        let (signer_slot, action) = match kind {
            LoadKind::CrossCoopPayment => {
                let from = pick(&mut rng, &self.coops[a].members)?;
                let to = pick(&mut rng, &self.coops[b].merchants)?;
                let amount = Self::pick_amount(&mut rng, 5_000, 150_000);
                (
                    from,
                    Action::Payment {
                        to: self.accounts[to].0,
                        amount,
                        memo: "belanja".into(),
                        idempotency_id: rng.gen(),
                    },
                )
            }
            LoadKind::OnUsPayment => {
                let from = pick(&mut rng, &self.coops[a].members)?;
                let to = pick(&mut rng, &self.coops[a].merchants)?;
                let amount = Self::pick_amount(&mut rng, 5_000, 100_000);
                (
                    from,
                    Action::Payment {
                        to: self.accounts[to].0,
                        amount,
                        memo: "warung".into(),
                        idempotency_id: rng.gen(),
                    },
                )
            }
            LoadKind::MemberTransfer => {
                let from = pick(&mut rng, &self.coops[a].members)?;
                let to = pick(&mut rng, &self.coops[b].members)?;
                if from == to {
                    return None;
                }
                let amount = Self::pick_amount(&mut rng, 10_000, 200_000);
                (
                    from,
                    Action::Payment {
                        to: self.accounts[to].0,
                        amount,
                        memo: "kirim".into(),
                        idempotency_id: rng.gen(),
                    },
                )
            }
            LoadKind::TaxiAtConsumerCoop => {
                let (t, c) = (taxi.unwrap_or(a), consumer.unwrap_or(b));
                let from = pick(&mut rng, &self.coops[t].members)?;
                let to = pick(&mut rng, &self.coops[c].merchants)?;
                let amount = Self::pick_amount(&mut rng, 20_000, 250_000);
                (
                    from,
                    Action::Payment {
                        to: self.accounts[to].0,
                        amount,
                        memo: "sembako".into(),
                        idempotency_id: rng.gen(),
                    },
                )
            }
            LoadKind::CashIn => {
                let member = pick(&mut rng, &self.coops[b].members)?;
                let amount = Self::pick_amount(&mut rng, 100_000, 1_000_000);
                let action = Action::CashIn {
                    agent: self.coops[a].id.clone(),
                    member: self.accounts[member].0,
                    amount,
                };
                (COOP_SLOT_BASE + a, action)
            }
            LoadKind::CashOut => {
                let member = pick(&mut rng, &self.coops[a].members)?;
                let amount = Self::pick_amount(&mut rng, 20_000, 200_000);
                (
                    member,
                    Action::CashOut {
                        agent: self.coops[b].id.clone(),
                        amount,
                    },
                )
            }
        };
        drop(rng);
        let kind = kind.label();
        if signer_slot >= COOP_SLOT_BASE {
            let c = signer_slot - COOP_SLOT_BASE;
            let busy = self
                .coops
                .get(c)?
                .signer
                .lock()
                .ok()
                .is_none_or(|s| s.in_flight >= COOP_IN_FLIGHT_MAX);
            if busy {
                return None;
            }
            let tx = self.sign_coop(c, action)?;
            let node = self.coops.get(c)?.node.clone();
            return Some(Prepared {
                tx,
                node,
                slot: signer_slot,
                kind,
            });
        }
        let (_, home, cell) = self.accounts.get(signer_slot)?;
        let mut signer = cell.lock().ok()?;
        if signer.in_flight >= PER_SIGNER_MAX {
            return None;
        }
        let nonce = signer.take_nonce();
        let Ok(tx) = self.sign(&signer.key, nonce, action) else {
            signer.give_back(nonce);
            return None;
        };
        signer.in_flight += 1;
        let node = self
            .coops
            .iter()
            .find(|c| &c.id == home)
            .map(|c| c.node.clone())?;
        Some(Prepared {
            tx,
            node,
            slot: signer_slot,
            kind,
        })
    }
}

impl Traffic {
    /// Sign with a cooperative's key and its next nonce.
    fn sign_coop(&self, c: usize, action: Action) -> Option<Transaction> {
        let coop = self.coops.get(c)?;
        let mut signer = coop.signer.lock().ok()?;
        let nonce = signer.take_nonce();
        let Ok(tx) = self.sign(&signer.key, nonce, action) else {
            signer.give_back(nonce);
            return None;
        };
        signer.in_flight += 1;
        Some(tx)
    }

    /// Sign and submit one cooperative transaction now (window closes, acks),
    /// counted under `kind` once it commits.
    pub async fn submit_coop(&self, c: usize, action: Action, kind: &'static str) -> Result<Hash> {
        let tx = self.sign_coop(c, action).context("cannot sign")?;
        let node = self
            .coops
            .get(c)
            .context("no such cooperative")?
            .node
            .clone();
        let hash = node.submit(&tx).await?;
        self.track(hash, COOP_SLOT_BASE + c, kind);
        Ok(hash)
    }

    /// After the load has stopped: close the open settlement window (the
    /// first cooperative signs, from the node's next nonce) and wait for it.
    /// Returns the closed window's number.
    pub async fn close_window(&self) -> Result<u64> {
        let coop = self.coops.first().context("no cooperatives")?;
        let open = coop.node.get("/v1/cooperatives").await?["open_window"]
            .as_u64()
            .context("node did not say the open window")?;
        let outcome = self
            .submit_settled(
                0,
                Action::CloseSettlementWindow { window: open },
                "settlement_close",
            )
            .await?;
        if !outcome.ok() {
            return Err(anyhow!("closing window {open}: {}", outcome.code));
        }
        Ok(open)
    }

    /// Sign with cooperative `c` from the node's next nonce (nothing else of
    /// it in flight: the load has stopped), submit, wait for the commit and
    /// count it under `kind`.
    async fn submit_settled(
        &self,
        c: usize,
        action: Action,
        kind: &'static str,
    ) -> Result<TxOutcome> {
        let coop = self.coops.get(c).context("no such cooperative")?;
        coop.resync_from_node().await?;
        coop.signer.lock().map_err(|_| anyhow!("lock"))?.in_flight = 0;
        let tx = self.sign_coop(c, action).context("cannot sign")?;
        let hash = coop.node.submit(&tx).await?;
        let outcome = coop.node.wait(&hash, Duration::from_secs(30)).await?;
        if let Ok(mut stats) = self.stats.lock() {
            stats.submitted += 1;
            stats.committed += 1;
            if outcome.ok() {
                stats.committed_ok += 1;
                *stats.by_kind.entry(kind).or_insert(0) += 1;
            } else {
                *stats.rejected.entry(outcome.code.clone()).or_insert(0) += 1;
            }
        }
        Ok(outcome)
    }

    /// After the load has stopped: every cooperative that has a position in
    /// closed window `window` and has not acknowledged it does so now, and
    /// the acknowledgement is waited for. An acknowledgement sent while the
    /// load ran can sit behind a nonce the load gave back (and never reused
    /// once it stopped), so each signer restarts from the node's next nonce.
    /// Returns how many acknowledgements committed.
    pub async fn settle_window(&self, window: u64) -> Result<u64> {
        let mut settled = 0;
        for (c, coop) in self.coops.iter().enumerate() {
            let record = coop
                .node
                .get(&format!("/v1/settlement/windows/{window}"))
                .await?;
            let entry = &record["entries"][coop.id.as_str()];
            let owes = entry["position"].as_i64().unwrap_or(0) != 0;
            if !owes || entry["acknowledged"] == true {
                continue;
            }
            let outcome = self
                .submit_settled(
                    c,
                    Action::AcknowledgeSettlement { window },
                    "settlement_ack",
                )
                .await?;
            settled += u64::from(outcome.ok());
        }
        Ok(settled)
    }

    fn track(&self, hash: Hash, slot: usize, kind: &'static str) {
        if let Ok(mut tracked) = self.tracked.lock() {
            if tracked.len() < TRACKED_MAX {
                tracked.insert(hash, (Instant::now(), slot, kind));
            }
        }
        if let Ok(mut stats) = self.stats.lock() {
            stats.submitted += 1;
        }
    }

    fn release(&self, slot: usize) {
        let cell = self.signer_cell(slot);
        if let Some(Ok(mut signer)) = cell.map(|c| c.lock()) {
            signer.in_flight = signer.in_flight.saturating_sub(1);
        }
    }

    /// The signer behind a load slot (a member account or a cooperative).
    fn signer_cell(&self, slot: usize) -> Option<&Mutex<Signer>> {
        if slot >= COOP_SLOT_BASE {
            self.coops.get(slot - COOP_SLOT_BASE).map(|c| &c.signer)
        } else {
            self.accounts.get(slot).map(|a| &a.2)
        }
    }

    /// A prepared transaction was never sent: free its signer's slot and nonce.
    fn unsent(&self, prepared: &Prepared) {
        let cell = self.signer_cell(prepared.slot);
        if let Some(Ok(mut signer)) = cell.map(|c| c.lock()) {
            signer.in_flight = signer.in_flight.saturating_sub(1);
            signer.give_back(prepared.tx.body.nonce);
        }
    }

    /// A submission failed before reaching a block: count it, and put its
    /// nonce back for reuse, unless the node says the nonce is already used
    /// (`stale_nonce`, `nonce_taken`); then, once nothing else of the signer
    /// is in flight, resync the signer's nonce from the node.
    async fn failed(&self, prepared: &Prepared, code: String) {
        let used = code == "stale_nonce" || code == "nonce_taken";
        if let Ok(mut stats) = self.stats.lock() {
            *stats.rejected.entry(code).or_insert(0) += 1;
        }
        let cell = self.signer_cell(prepared.slot);
        let idle = match cell.map(|c| c.lock()) {
            Some(Ok(mut signer)) => {
                signer.in_flight = signer.in_flight.saturating_sub(1);
                if !used {
                    signer.give_back(prepared.tx.body.nonce);
                }
                signer.in_flight == 0
            }
            _ => false,
        };
        if !(used && idle) {
            return;
        }
        let key = prepared.tx.body.signer;
        if let Ok(nonce) = prepared.node.next_nonce(&key).await {
            if let Some(Ok(mut signer)) = cell.map(|c| c.lock()) {
                if signer.in_flight == 0 {
                    signer.resync(nonce);
                }
            }
        }
    }

    /// Send load at `rate` transactions per second until `stop` says so.
    pub async fn run_load(
        self: Arc<Self>,
        rate: u64,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let permits = Arc::new(Semaphore::new(IN_FLIGHT_MAX));
        let tick = Duration::from_millis(10);
        let mut interval = tokio::time::interval(tick);
        let per_tick = rate as f64 / 100.0;
        let mut owed = 0.0f64;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = interval.tick() => {}
            }
            owed += per_tick;
            // This tick's transactions, one batch request per node.
            let mut batches: Vec<(Client, Vec<Prepared>)> = Vec::new();
            while owed >= 1.0 {
                owed -= 1.0;
                // A picked signer may still have a transaction in flight:
                // pick again (bounded) rather than offer less than `rate`.
                let Some(prepared) = (0..PICK_TRIES).find_map(|_| self.prepare()) else {
                    continue;
                };
                let base = prepared.node.base().to_string();
                match batches
                    .iter_mut()
                    .find(|(node, list)| node.base() == base && list.len() < SUBMIT_BATCH_MAX)
                {
                    Some((_, list)) => list.push(prepared),
                    None => batches.push((prepared.node.clone(), vec![prepared])),
                }
            }
            for (node, batch) in batches {
                let count = u32::try_from(batch.len()).unwrap_or(u32::MAX);
                let Ok(permit) = permits.clone().try_acquire_many_owned(count) else {
                    for prepared in &batch {
                        self.unsent(prepared);
                    }
                    continue;
                };
                let me = self.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let txs: Vec<Transaction> = batch.iter().map(|p| p.tx.clone()).collect();
                    match node.submit_batch(&txs).await {
                        Ok(results) => {
                            for (prepared, result) in batch.iter().zip(results) {
                                match result {
                                    Ok(hash) => me.track(hash, prepared.slot, prepared.kind),
                                    Err(e) => {
                                        let code = e.code().unwrap_or("unreachable").to_string();
                                        me.failed(prepared, code).await;
                                    }
                                }
                            }
                        }
                        Err(e) => {
                            let code = e.code().unwrap_or("unreachable").to_string();
                            for prepared in &batch {
                                me.failed(prepared, code.clone()).await;
                            }
                        }
                    }
                });
            }
        }
    }

    /// Follow `/v1/events` on `node`, matching commits to submissions.
    pub async fn follow_commits(
        self: Arc<Self>,
        node: Client,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<()> {
        let url = format!("{}/v1/events", node.base());
        let response = reqwest::get(&url)
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let mut stream = response.bytes_stream();
        let mut buffer = String::new();
        let started = Instant::now();
        loop {
            let chunk = tokio::select! {
                _ = stop.changed() => return Ok(()),
                chunk = stream.next() => chunk,
            };
            let Some(chunk) = chunk else { return Ok(()) };
            buffer.push_str(&String::from_utf8_lossy(&chunk?));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                    if let Ok(block) = serde_json::from_str::<serde_json::Value>(data.trim()) {
                        self.on_block(&block, started);
                    }
                }
            }
        }
    }

    /// Follow commits by reading blocks in height order from whichever of
    /// `nodes` answers (`GET /v1/blocks?from=H`), so that no block is missed
    /// when the node being read is killed, paused or cut off. Starts after
    /// the height the first answering node reports now.
    pub async fn follow_blocks(
        self: Arc<Self>,
        nodes: Vec<Client>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let started = Instant::now();
        let mut next: Option<u64> = None;
        let mut turn = 0usize;
        let mut poll = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = poll.tick() => {}
            }
            let Some(node) = nodes.get(turn % nodes.len().max(1)) else {
                return;
            };
            let Some(from) = next else {
                match node.status().await {
                    Ok(status) => next = Some(status["height"].as_u64().unwrap_or(0) + 1),
                    Err(_) => turn = turn.wrapping_add(1),
                }
                continue;
            };
            let page = tokio::time::timeout(
                Duration::from_secs(2),
                node.get(&format!("/v1/blocks?from={from}&limit={FOLLOW_PAGE}")),
            )
            .await;
            let Ok(Ok(page)) = page else {
                turn = turn.wrapping_add(1);
                continue;
            };
            for block in page["blocks"].as_array().into_iter().flatten() {
                if block["height"].as_u64() != next {
                    break;
                }
                self.on_block(block, started);
                next = next.map(|h| h + 1);
            }
        }
    }

    fn on_block(&self, block: &serde_json::Value, started: Instant) {
        let txs = block["txs"].as_array().cloned().unwrap_or_default();
        let mut releases = Vec::new();
        let (Ok(mut tracked), Ok(mut stats)) = (self.tracked.lock(), self.stats.lock()) else {
            return;
        };
        stats.last_height = block["height"].as_u64().unwrap_or(stats.last_height);
        let second = started.elapsed().as_secs();
        for tx in &txs {
            let Some(hash) = tx["hash"].as_str().and_then(|h| Hash::from_hex(h).ok()) else {
                continue;
            };
            let result = tx["result"].as_str().unwrap_or("?").to_string();
            let Some((at, slot, kind)) = tracked.remove(&hash) else {
                continue;
            };
            stats.committed += 1;
            if stats.acknowledged.len() < TRACKED_MAX {
                stats.acknowledged.push((hash, result.clone()));
            }
            if stats.latencies_ms.len() < LATENCIES_MAX {
                stats
                    .latencies_ms
                    .push(u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX));
            }
            if result == "ok" {
                stats.committed_ok += 1;
                *stats.by_kind.entry(kind).or_insert(0) += 1;
            } else {
                *stats.rejected.entry(result).or_insert(0) += 1;
            }
            let room = stats.per_second.len() < TRACKED_MAX;
            match stats.per_second.last_mut() {
                Some((s, n)) if *s == second => *n += 1,
                _ if room => stats.per_second.push((second, 1)),
                _ => {}
            }
            releases.push(slot);
        }
        drop(tracked);
        drop(stats);
        for slot in releases {
            self.release(slot);
        }
    }

    /// Count submissions older than [`LOST_AFTER`] as lost and free their signers.
    pub fn sweep(&self) {
        let mut lost = Vec::new();
        if let Ok(mut tracked) = self.tracked.lock() {
            tracked.retain(|_, (at, slot, _)| {
                let keep = at.elapsed() < LOST_AFTER;
                if !keep {
                    lost.push(*slot);
                }
                keep
            });
        }
        if !lost.is_empty() {
            if let Ok(mut stats) = self.stats.lock() {
                *stats.rejected.entry("lost".into()).or_insert(0) += lost.len() as u64;
            }
        }
        for slot in lost {
            self.release(slot);
        }
    }

    /// Transactions submitted but not yet seen in a block.
    pub fn outstanding(&self) -> usize {
        self.tracked.lock().map(|t| t.len()).unwrap_or(0)
    }
}

/// The `p`-th percentile (0-100) of unsorted values.
pub fn percentile(values: &[u64], p: u64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let index = (sorted.len() as u64 - 1) * p / 100;
    sorted
        .get(usize::try_from(index).unwrap_or(0))
        .copied()
        .unwrap_or(0)
}
