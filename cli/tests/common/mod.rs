//! A local network of real `kopnet node run` processes on 127.0.0.1, and a
//! blocking HTTP client. Every wait is a condition with a deadline. The
//! browser tests drive Chromium through [`webdriver`].
#![allow(dead_code)]

pub mod governance;
pub mod health;
pub mod observed;
pub mod outsider;
pub mod tmpfs;
pub mod webdriver;

use base64::Engine as _;
use kopnet_consensus::{Hash, Keypair, PublicKey};
use kopnet_ledger::{Action, Transaction, TxBody};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn kopnet() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kopnet"))
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Wait until `f` returns Some, or panic after `timeout` with `what`.
/// The signature headers of `GET path` by `key` on network `chain_id`, now.
pub fn sign_get(key: &Keypair, chain_id: &str, path: &str) -> [(&'static str, String); 3] {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    kopnet_node::api::signed_request::sign_request(key, chain_id, "GET", path, now_ms, &[])
}

pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub struct NodeInfo {
    pub id: String,
    pub role: String,
    pub home: PathBuf,
    pub api: String,
    pub child: Option<Child>,
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub layout: Value,
    pub nodes: Vec<NodeInfo>,
    pub chain_id: String,
}

impl Cluster {
    pub fn init(validators: usize, observers: usize) -> Cluster {
        Cluster::init_with(validators, observers, &[])
    }

    /// [`Cluster::init`] with extra `kopnet testnet init` flags (the
    /// genesis's settlement period, validator limits, ...).
    pub fn init_with(validators: usize, observers: usize, flags: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("net");
        let status = Command::new(kopnet())
            .args(["testnet", "init", "--dir"])
            .arg(&net)
            .args([
                "--validators",
                &validators.to_string(),
                "--observers",
                &observers.to_string(),
            ])
            .args(flags)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let layout: Value =
            serde_json::from_str(&std::fs::read_to_string(net.join("testnet.json")).unwrap())
                .unwrap();
        let nodes = layout["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| NodeInfo {
                id: n["id"].as_str().unwrap().to_string(),
                role: n["role"].as_str().unwrap().to_string(),
                home: PathBuf::from(n["home"].as_str().unwrap()),
                api: n["api_url"].as_str().unwrap().to_string(),
                child: None,
            })
            .collect();
        let chain_id = layout["chain_id"].as_str().unwrap().to_string();
        Cluster {
            dir,
            layout,
            nodes,
            chain_id,
        }
    }

    pub fn start(validators: usize, observers: usize) -> Cluster {
        Cluster::start_with(validators, observers, &[])
    }

    /// [`Cluster::start`] with extra `kopnet testnet init` flags.
    pub fn start_with(validators: usize, observers: usize, flags: &[&str]) -> Cluster {
        let mut cluster = Cluster::init_with(validators, observers, flags);
        for i in 0..cluster.nodes.len() {
            cluster.start_node(i);
        }
        cluster.wait_height_all(1, Duration::from_secs(60));
        cluster
    }

    pub fn net_dir(&self) -> PathBuf {
        self.dir.path().join("net")
    }

    pub fn start_node(&mut self, i: usize) {
        self.start_node_with(i, &[]);
    }

    /// Start node `i` with extra `kopnet node run` flags.
    pub fn start_node_with(&mut self, i: usize, flags: &[&str]) {
        self.start_node_env(i, flags, &[]);
    }

    /// Start node `i` with extra flags and environment variables.
    pub fn start_node_env(&mut self, i: usize, flags: &[&str], env: &[(&str, &str)]) {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.home.join("node.log"))
            .unwrap();
        let child = Command::new(kopnet())
            .args(["node", "run", "--home"])
            .arg(&node.home)
            .args(flags)
            .env("RUST_LOG", "info,libp2p=warn")
            .envs(env.iter().copied())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        node.child = Some(child);
    }

    pub fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then wait (with a deadline) for the exit status.
    pub fn terminate(&mut self, i: usize) -> std::process::ExitStatus {
        let mut child = self.nodes[i].child.take().expect("node running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        wait_for(
            "the node to exit after SIGTERM",
            Duration::from_secs(30),
            || child.try_wait().unwrap(),
        )
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.nodes[i].home.join("node.log")).unwrap_or_default()
    }

    /// The key the rig reads with: the first observer's (a regulator reads
    /// every account), or with no observer the first cooperative's key.
    pub fn reader_key(&self) -> Keypair {
        match self.nodes.iter().find(|n| n.role == "observer") {
            Some(observer) => kopnet_node::keyfile::read(&observer.home.join("node.key")).unwrap(),
            None => self.coop_key(&self.nodes[0].id),
        }
    }

    /// `GET path` at node `i`, signed with [`Cluster::reader_key`] — or, in
    /// a cluster without an observer, by each cooperative's key in turn
    /// (each reads its own members' accounts); `None` unless one answers
    /// 2xx.
    pub fn get(&self, i: usize, path: &str) -> Option<Value> {
        if self.nodes.iter().any(|n| n.role == "observer") {
            return self.get_as(i, path, Some(&self.reader_key()));
        }
        // A merchant's public fields answer anyone: look on for the
        // cooperative that sees it whole.
        let mut public = None;
        for node in self.nodes.iter().filter(|n| n.role == "validator") {
            match self.get_as(i, path, Some(&self.coop_key(&node.id))) {
                Some(body) if body["visibility"] == "public" => public = public.or(Some(body)),
                Some(body) => return Some(body),
                None => {}
            }
        }
        public
    }

    /// `GET path` at node `i` signed by `key` (anonymous with `None`): the
    /// status and the JSON body, whatever the status.
    pub fn get_status_as(&self, i: usize, path: &str, key: Option<&Keypair>) -> (u16, Value) {
        let mut request = http().get(format!("{}{path}", self.nodes[i].api));
        if let Some(key) = key {
            for (name, value) in sign_get(key, &self.chain_id, path) {
                request = request.header(name, value);
            }
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// `GET path` at node `i`, signed by `key` (anonymous with `None`).
    pub fn get_as(&self, i: usize, path: &str, key: Option<&Keypair>) -> Option<Value> {
        let mut request = http().get(format!("{}{path}", self.nodes[i].api));
        if let Some(key) = key {
            for (name, value) in sign_get(key, &self.chain_id, path) {
                request = request.header(name, value);
            }
        }
        let response = request.send().ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().ok()
    }

    pub fn height(&self, i: usize) -> Option<u64> {
        self.get(i, "/v1/status")?["height"].as_u64()
    }

    pub fn wait_height(&self, i: usize, height: u64, timeout: Duration) {
        wait_for(
            &format!("node {} to reach height {height}", self.nodes[i].id),
            timeout,
            || self.height(i).filter(|h| *h >= height),
        );
    }

    pub fn wait_height_all(&self, height: u64, timeout: Duration) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].child.is_some() {
                self.wait_height(i, height, timeout);
            }
        }
    }

    /// The validator key of cooperative `id`'s node (`validator.key` in
    /// its home): what signs its votes and commit certificates.
    pub fn validator_key(&self, id: &str) -> Keypair {
        let home = &self.nodes[self.node_of(id)].home;
        kopnet_node::keyfile::read(&home.join("validator.key")).unwrap()
    }

    pub fn coop_key(&self, id: &str) -> Keypair {
        let path = self
            .net_dir()
            .join("coops")
            .join(id)
            .join("cooperative.key");
        kopnet_node::keyfile::read(&path).unwrap()
    }

    /// Index of the validator node of cooperative `id`.
    pub fn node_of(&self, id: &str) -> usize {
        self.nodes.iter().position(|n| n.id == id).unwrap_or(0)
    }

    /// Index of the first observer node (the cluster must have one).
    pub fn observer(&self) -> usize {
        self.nodes
            .iter()
            .position(|n| n.role == "observer")
            .expect("a cluster with an observer")
    }

    pub fn submit(&self, i: usize, tx: &Transaction) -> reqwest::blocking::Response {
        let b64 = base64::engine::general_purpose::STANDARD.encode(tx.encode().unwrap());
        http()
            .post(format!("{}/v1/tx", self.nodes[i].api))
            .json(&serde_json::json!({"tx": b64}))
            .send()
            .unwrap()
    }

    /// Wait until tx `hash` is committed on node `i`; returns its result code.
    pub fn wait_tx(&self, i: usize, hash: &Hash, timeout: Duration) -> String {
        wait_for(&format!("tx {hash} to commit"), timeout, || {
            let v = self.get(i, &format!("/v1/tx/{}", hash.to_hex()))?;
            (v["status"] == "committed")
                .then(|| v["result"]["code"].as_str().unwrap_or("").to_string())
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Signs for one key, counting nonces locally.
pub struct Wallet {
    pub key: Keypair,
    pub nonce: u64,
    pub chain_id: String,
}

impl Wallet {
    pub fn new(key: Keypair, chain_id: &str) -> Wallet {
        Wallet {
            key,
            nonce: 0,
            chain_id: chain_id.to_string(),
        }
    }
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }
    pub fn sign(&mut self, action: Action) -> Transaction {
        self.nonce += 1;
        let body = TxBody {
            chain_id: self.chain_id.clone(),
            signer: self.key.public(),
            nonce: self.nonce,
            action,
        };
        Transaction::sign(body, &self.key).unwrap()
    }
}

pub fn read_to_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The last `lines` lines of every `*/node.log` under a network folder, for
/// a failed run's message (the runner keeps each node's log in its home).
pub fn log_tails(net: &Path, lines: usize) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(net) else {
        return format!("(no network folder at {})", net.display());
    };
    let mut homes: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    homes.sort();
    for home in homes {
        let Ok(text) = std::fs::read_to_string(home.join("node.log")) else {
            continue;
        };
        let all: Vec<&str> = text.lines().collect();
        let tail = &all[all.len().saturating_sub(lines)..];
        out.push_str(&format!(
            "\n--- {} (last {} lines) ---\n",
            home.display(),
            tail.len()
        ));
        out.push_str(&tail.join("\n"));
    }
    out
}

/// Whether a Docker engine answers within a few seconds (Err = why not).
pub fn docker_engine() -> Result<(), String> {
    let mut child = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("`docker version` exited with {status}")),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Ok(None) => {
                let _ = child.kill();
                return Err("`docker version` did not answer within 15 s".into());
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}
