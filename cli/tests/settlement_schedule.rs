//! Settlement windows by schedule, not at will (issue 14), on a live
//! 4-validator network with an observer:
//!
//! * a cooperative (angkot) sends ten window closes back to back: each is
//!   rejected (`window_closes_on_schedule`), the market cooperative's net
//!   debit cap headroom does not move, and its member's cross-cooperative
//!   payment up to exactly that headroom goes through;
//! * governance moves the cut-offs to every 5 s: the open window closes at
//!   the first block past a cut-off (its parent was before it), the
//!   cooperatives acknowledge it and it settles; with nothing happening,
//!   cut-offs pass and the empty window stays open; the next payment's
//!   window closes at the next cut-off.
//!
//! The network starts with a weekly schedule so that the first part runs in
//! one open window.

mod common;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_ledger::{AccountKind, Action, CoopId, GovAction, KycTier, Transaction};
use serde_json::Value;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const PERIOD_MS: u64 = 5_000;

struct Net {
    cluster: Cluster,
    observer: usize,
}

impl Net {
    /// Submit `tx` at node `node` and wait for its result code there and
    /// at the observer (where every figure is read).
    fn run(&self, node: usize, tx: &Transaction) -> String {
        let response = self.cluster.submit(node, tx);
        assert!(
            response.status().is_success(),
            "{}",
            response.text().unwrap()
        );
        self.cluster.wait_tx(node, &tx.hash(), TIMEOUT);
        self.cluster.wait_tx(self.observer, &tx.hash(), TIMEOUT)
    }

    fn ok(&self, node: usize, tx: &Transaction) {
        assert_eq!(self.run(node, tx), "ok", "{:?}", tx.body.action);
    }

    /// A cooperative's record at the observer.
    fn coop(&self, id: &str) -> Value {
        let list = self.cluster.get(self.observer, "/v1/cooperatives").unwrap();
        list["cooperatives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap()
    }

    fn headroom(&self, id: &str) -> i64 {
        self.coop(id)["ndc_headroom"].as_i64().unwrap()
    }

    fn params(&self) -> Value {
        self.cluster.get(self.observer, "/v1/params").unwrap()
    }

    fn open_window(&self) -> u64 {
        self.params()["settlement"]["open_window"].as_u64().unwrap()
    }

    /// Wait until window `n` is closed; returns its record.
    fn wait_closed(&self, n: u64) -> Value {
        wait_for(&format!("window {n} to close"), TIMEOUT, || {
            self.cluster
                .get(self.observer, &format!("/v1/settlement/windows/{n}"))
        })
    }

    /// The closing block of `window` is the first past a cut-off of the
    /// 5-s schedule: its parent's time is before that cut-off, its own at
    /// or after it.
    fn assert_closed_on_schedule(&self, window: &Value) {
        let height = window["closed_at_height"].as_u64().unwrap();
        let time = window["closed_at_ms"].as_u64().unwrap();
        let block = self
            .cluster
            .get(self.observer, &format!("/v1/blocks/{height}"))
            .unwrap();
        assert_eq!(block["time_ms"].as_u64(), Some(time), "{window}");
        let parent = self
            .cluster
            .get(self.observer, &format!("/v1/blocks/{}", height - 1))
            .unwrap();
        let parent_time = parent["time_ms"].as_u64().unwrap();
        let cutoff = time - time % PERIOD_MS;
        println!(
            "window {} closed by block {height}: parent at {parent_time} ms < cut-off {cutoff} ms <= {time} ms",
            window["number"]
        );
        assert!(parent_time < cutoff && cutoff <= time, "{window}");
    }
}

#[test]
fn closing_at_will_is_refused_and_windows_close_on_schedule() {
    let cluster = Cluster::start_with(4, 1, &["--window-secs", "604800"]);
    let observer = cluster.observer();
    let net = Net { cluster, observer };
    let chain = net.cluster.chain_id.clone();
    let node = |id: &str| net.cluster.node_of(id);
    let wallet = |id: &str| Wallet::new(net.cluster.coop_key(id), &chain);
    let (mut ksp, mut pasar, mut angkot) = (
        wallet("ksp-sejahtera"),
        wallet("pasar-makmur"),
        wallet("angkot-maju"),
    );
    let id = |slug: &str| CoopId::new(slug).unwrap();

    // Governance lowers the market cooperative's cap to Rp 100.000 so the
    // figures are small.
    let propose = |w: &mut Wallet, action| w.sign(Action::Propose { action });
    net.ok(
        node("ksp-sejahtera"),
        &propose(
            &mut ksp,
            GovAction::SetNetDebitCap {
                id: id("pasar-makmur"),
                ndc: 100_000,
            },
        ),
    );
    net.ok(
        node("pasar-makmur"),
        &pasar.sign(Action::Approve { proposal: 0 }),
    );
    net.ok(
        node("angkot-maju"),
        &angkot.sign(Action::Approve { proposal: 0 }),
    );

    // Ani (savings cooperative) and Budi (market cooperative).
    let mut ani = Wallet::new(Keypair::generate(&mut rand::rngs::OsRng), &chain);
    let mut budi = Wallet::new(Keypair::generate(&mut rand::rngs::OsRng), &chain);
    let register = |member| Action::RegisterMember {
        member,
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    };
    net.ok(node("ksp-sejahtera"), &ksp.sign(register(ani.public())));
    net.ok(node("pasar-makmur"), &pasar.sign(register(budi.public())));
    let mint = |member, amount| Action::Mint { member, amount };
    net.ok(
        node("ksp-sejahtera"),
        &ksp.sign(mint(ani.public(), 100_000)),
    );
    net.ok(
        node("pasar-makmur"),
        &pasar.sign(mint(budi.public(), 200_000)),
    );
    let pay = |to, amount, n: u8| Action::Payment {
        to,
        amount,
        memo: String::new(),
        idempotency_id: [n; 16],
    };
    // Ani pays Budi 30.000: the market cooperative is owed 30.000 in the
    // open window, so it may owe up to 130.000.
    net.ok(
        node("ksp-sejahtera"),
        &ani.sign(pay(budi.public(), 30_000, 1)),
    );
    assert_eq!(net.open_window(), 0);
    assert_eq!(net.headroom("pasar-makmur"), 130_000);

    // Angkot closes back to back: ten closes in a row, all in flight at once.
    let closes: Vec<Transaction> = (0..10)
        .map(|_| angkot.sign(Action::CloseSettlementWindow { window: 0 }))
        .collect();
    for tx in &closes {
        let response = net.cluster.submit(node("angkot-maju"), tx);
        assert!(response.status().is_success());
    }
    for tx in &closes {
        let code = net.cluster.wait_tx(net.observer, &tx.hash(), TIMEOUT);
        assert_eq!(code, "window_closes_on_schedule");
    }
    assert_eq!(net.open_window(), 0);
    assert_eq!(net.headroom("pasar-makmur"), 130_000);
    // Budi pays back across cooperatives up to exactly that headroom.
    let over = budi.sign(pay(ani.public(), 130_001, 1));
    assert_eq!(
        net.run(node("pasar-makmur"), &over),
        "net_debit_cap_exceeded"
    );
    net.ok(
        node("pasar-makmur"),
        &budi.sign(pay(ani.public(), 130_000, 2)),
    );
    assert_eq!(net.headroom("pasar-makmur"), 0);

    // Governance: windows close every 5 s from the block after this executes.
    let schedule = SettlementSchedule::every(PERIOD_MS);
    net.ok(
        node("ksp-sejahtera"),
        &propose(&mut ksp, GovAction::SetSettlementSchedule { schedule }),
    );
    net.ok(
        node("pasar-makmur"),
        &pasar.sign(Action::Approve { proposal: 1 }),
    );
    net.ok(
        node("angkot-maju"),
        &angkot.sign(Action::Approve { proposal: 1 }),
    );
    assert_eq!(net.params()["settlement"]["period_ms"], PERIOD_MS);

    // Window 0 closes at the next cut-off: the market cooperative owes
    // 100.000 there, and its headroom stays used until the window settles.
    let window = net.wait_closed(0);
    net.assert_closed_on_schedule(&window);
    assert_eq!(window["entries"]["pasar-makmur"]["position"], -100_000);
    assert_eq!(window["settled"], false);
    assert_eq!(net.headroom("pasar-makmur"), 0);
    net.ok(
        node("ksp-sejahtera"),
        &ksp.sign(Action::AcknowledgeSettlement { window: 0 }),
    );
    net.ok(
        node("pasar-makmur"),
        &pasar.sign(Action::AcknowledgeSettlement { window: 0 }),
    );
    let window = net.wait_closed(0);
    assert_eq!(window["settled"], true, "{window}");
    assert_eq!(net.headroom("pasar-makmur"), 100_000);

    // Nothing happens in window 1 (acknowledgements move no money): two
    // cut-offs pass on the block clock and it stays open.
    let open = net.open_window();
    assert_eq!(open, 1);
    let settlement = &net.params()["settlement"];
    let later = settlement["next_cutoff_ms"].as_u64().unwrap() + PERIOD_MS;
    wait_for("two cut-offs to pass", TIMEOUT, || {
        let now = net.params()["settlement"]["last_block_time_ms"].as_u64()?;
        (now > later).then_some(())
    });
    assert_eq!(net.open_window(), 1, "an empty window was closed");

    // A payment: window 1 closes at the next cut-off.
    net.ok(
        node("ksp-sejahtera"),
        &ani.sign(pay(budi.public(), 1_000, 3)),
    );
    let window = net.wait_closed(1);
    net.assert_closed_on_schedule(&window);
    assert_eq!(window["entries"]["pasar-makmur"]["position"], 1_000);
}
