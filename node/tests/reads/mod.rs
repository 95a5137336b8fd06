//! A node's HTTP API over a real sled ledger with some history, served on a
//! loopback port, without consensus or networking: what the read tests
//! need. The ledger is moved by applying blocks directly, then the view is
//! published as the runtime does after a commit.
#![allow(dead_code)]

use kopnet_consensus::Hash;
use kopnet_consensus::PublicKey;
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::testkit::{demo_genesis, demo_signers, key_for, Signers};
use kopnet_ledger::{
    AccountKind, Action, GovAction, KycTier, Ledger, SledStorage, Transaction, VerifyAll,
};
use kopnet_node::api::ApiState;
use kopnet_node::committed_view::{CommittedView, ViewCell};
use kopnet_node::config::{MempoolConfig, Role};
use kopnet_node::genesis_file::NetworkGenesis;
use kopnet_node::host::HostState;
use kopnet_node::mempool::Mempool;
use kopnet_node::node_state::{LiveStatus, NodeState};
use kopnet_node::verified::VerifiedSignatures;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub const CHAIN: &str = "kopnet-test";
/// Each request's deadline: an answer later than this is a failure.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(10);

pub struct ReadNode {
    pub node: Arc<NodeState>,
    pub url: String,
    pub signers: Signers,
    pub members: Vec<PublicKey>,
    /// Hashes of committed payments, oldest first.
    pub payments: Vec<Hash>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

pub fn coop(slug: &str) -> PublicKey {
    key_for(slug).public()
}

impl ReadNode {
    /// A node whose ledger has members, `payment_blocks` blocks of payments
    /// and three governance proposals, serving its API on a loopback port.
    pub async fn start(payment_blocks: u8) -> ReadNode {
        Self::start_with_pages(payment_blocks, Default::default()).await
    }

    /// [`ReadNode::start`] with page sizes of its own (`[pages]`).
    pub async fn start_with_pages(
        payment_blocks: u8,
        pages: kopnet_node::api::paging::PagesConfig,
    ) -> ReadNode {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStorage::open(&dir.path().join("db"), 8 * 1024 * 1024).unwrap();
        let genesis = demo_genesis(CHAIN, 4, 50_000_000);
        let ledger = Ledger::open(store, &genesis).unwrap();
        let reader = ledger.reader();
        let view = ViewCell::new(CommittedView::of(&ledger));
        let host = Arc::new(HostState {
            chain_id: CHAIN.into(),
            ledger: RwLock::new(ledger),
            mempool: Mutex::new(Mempool::new(MempoolConfig::default())),
            verified: VerifiedSignatures::new(1024),
            rejections: Mutex::default(),
        });
        let (events, _) = tokio::sync::broadcast::channel(16);
        let (outbox, _outbox_rx) = tokio::sync::mpsc::channel(16);
        let node = Arc::new(NodeState {
            role: Role::Observer,
            chain_id: CHAIN.into(),
            node_key: coop("ksp-sejahtera"),
            genesis: NetworkGenesis { ledger: genesis },
            host,
            committed: view,
            chain: reader,
            newest_blocks: Default::default(),
            metrics: Default::default(),
            events,
            submitted_at: Default::default(),
            live: RwLock::new(LiveStatus::default()),
            outbox,
            txs_available: tokio::sync::Notify::new(),
            health: Default::default(),
            directory: Arc::new(kopnet_node::personal::Directory::temporary().unwrap()),
            snapshots: kopnet_node::snapshots::dir::SnapshotDir::of_data(&dir.path().join("data")),
            keep_blocks: None,
        });
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let api = ApiState {
            node: node.clone(),
            p2p: None,
            admin: std::sync::Arc::new(kopnet_node::http::admin::AdminAccess::new(
                false,
                "127.0.0.1:0".parse().unwrap(),
                None,
            )),
            front: kopnet_node::http::Front::new(&kopnet_node::config::HttpConfig::default()),
            pages,
            audit: Default::default(),
            stopping,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = kopnet_node::router::router(api, 1024 * 1024, true);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut read = ReadNode {
            node,
            url,
            signers: demo_signers(),
            members: Vec::new(),
            payments: Vec::new(),
            _dir: dir,
            _stop: stop,
        };
        read.fill(payment_blocks);
        read
    }

    fn sign(&mut self, signer: &PublicKey, action: Action) -> Transaction {
        self.signers.sign(CHAIN, signer, action)
    }

    /// Apply `txs` as the next block and publish the view, as the runtime
    /// does after a commit.
    pub fn commit(&self, txs: Vec<Transaction>) {
        {
            let mut ledger = self.node.host.ledger.write().unwrap();
            let (block, skipped) = ledger.build_block(
                &txs,
                coop("ksp-sejahtera"),
                BlockLimits::default(),
                &VerifyAll,
            );
            assert!(skipped.is_empty(), "not admitted: {skipped:?}");
            ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
        }
        self.node.publish_committed();
    }

    fn fill(&mut self, payment_blocks: u8) {
        let ksp = coop("ksp-sejahtera");
        let mut register = Vec::new();
        for name in ["ani", "budi", "cici"] {
            let key = self.signers.add(key_for(name));
            self.members.push(key);
            register.push(self.sign(
                &ksp,
                Action::RegisterMember {
                    member: key,
                    kind: AccountKind::Member,
                    tier: KycTier::Registered,
                },
            ));
        }
        self.commit(register);
        let (ani, budi) = (self.members[0], self.members[1]);
        let mint = self.sign(
            &ksp,
            Action::Mint {
                member: ani,
                amount: 1_000_000,
            },
        );
        self.commit(vec![mint]);
        for n in 0..payment_blocks {
            let tx = self.sign(
                &ani,
                Action::Payment {
                    to: budi,
                    amount: 1_000 + u64::from(n),
                    memo: String::new(),
                    idempotency_id: [n; 16],
                },
            );
            self.payments.push(tx.hash());
            self.commit(vec![tx]);
        }
        let proposals: Vec<Transaction> = self.members.clone()[..3]
            .iter()
            .map(|member| {
                self.sign(
                    &ksp,
                    Action::Propose {
                        action: GovAction::Freeze { member: *member },
                    },
                )
            })
            .collect();
        self.commit(proposals);
    }

    /// Mints of `count` rupiah 1 each to Ani, in one block.
    pub fn commit_mints(&mut self, count: usize) {
        let ksp = coop("ksp-sejahtera");
        let ani = self.members[0];
        let txs = (0..count)
            .map(|_| {
                self.sign(
                    &ksp,
                    Action::Mint {
                        member: ani,
                        amount: 1,
                    },
                )
            })
            .collect();
        self.commit(txs);
    }

    /// Payments of `amounts` rupiah from Ani to Budi, in one block (a
    /// payment above Ani's balance is committed with its rejection).
    pub fn commit_payments(&mut self, amounts: &[u64]) {
        let (ani, budi) = (self.members[0], self.members[1]);
        let txs = amounts
            .iter()
            .enumerate()
            .map(|(n, amount)| {
                let mut idempotency_id = [0xee; 16];
                idempotency_id[..8].copy_from_slice(&(n as u64).to_be_bytes());
                self.sign(
                    &ani,
                    Action::Payment {
                        to: budi,
                        amount: *amount,
                        memo: String::new(),
                        idempotency_id,
                    },
                )
            })
            .collect();
        self.commit(txs);
    }

    pub fn height(&self) -> u64 {
        self.node.committed.current().height
    }
}

/// `GET url` within [`ANSWER_DEADLINE`], signed by the members' home
/// cooperative (`ksp-sejahtera`'s key: a participant, and the desk that may
/// read its members' accounts): (status, JSON body).
pub async fn get(url: &str) -> (u16, serde_json::Value) {
    get_as(url, Some(&key_for("ksp-sejahtera"))).await
}

/// `GET url` within [`ANSWER_DEADLINE`], signed by `key` (anonymous with
/// `None`): (status, JSON body).
pub async fn get_as(
    url: &str,
    key: Option<&kopnet_consensus::Keypair>,
) -> (u16, serde_json::Value) {
    let client = reqwest::Client::builder()
        .timeout(ANSWER_DEADLINE)
        .build()
        .unwrap();
    let mut request = client.get(url);
    if let Some(key) = key {
        let parsed = reqwest::Url::parse(url).unwrap();
        let path = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        for (name, value) in
            kopnet_node::api::signed_request::sign_request(key, CHAIN, "GET", &path, now_ms, &[])
        {
            request = request.header(name, value);
        }
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: no answer within {ANSWER_DEADLINE:?}: {e}"));
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}
