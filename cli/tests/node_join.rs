//! `kopnet node init --join`: a new home made from a running node's
//! genesis joins the network — here a regulator's observer (its identity
//! in the genesis) set up from the validator's URL catches up with it.
//! Every bad source (no answer, an answer too large, a genesis whose hash
//! is not the one pinned, a path that is no file) is refused with its
//! reason and leaves no home behind.

mod common;
use common::outsider::{height_of, peer_addresses, KillOnDrop};
use common::*;
use kopnet_node::genesis_file::NetworkGenesis;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn init(args: &[&str]) -> Output {
    Command::new(kopnet())
        .args(["node", "init"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `init` that must fail saying `why`, without making `home`.
fn refused(home: &Path, args: &[&str], why: &str) {
    let out = init(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted: {args:?}");
    assert!(stderr.contains(why), "{args:?}: {stderr}");
    assert!(!home.exists(), "{args:?} left {} behind", home.display());
}

/// A server on loopback whose every answer is a 200 of `bytes` bytes.
fn oversized_server(bytes: usize) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let header = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {bytes}\r\n\r\n"
            );
            let _ = stream.write_all(header.as_bytes());
            // The client hangs up at its bound: the write fails, we go on.
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < bytes && stream.write_all(&chunk).is_ok() {
                sent += chunk.len();
            }
        }
    });
    port
}

#[test]
fn an_observer_joins_from_a_validators_url_and_bad_sources_are_refused() {
    let mut cluster = Cluster::init(1, 1);
    cluster.start_node(0);
    cluster.wait_height(0, 1, Duration::from_secs(60));
    let url = cluster.nodes[0].api.clone();
    let observer_key = cluster.nodes[1].home.join("node.key");
    let key_arg = observer_key.to_str().unwrap();
    let home = cluster.dir.path().join("joined");
    let home_arg = home.to_str().unwrap();
    let base = ["--home", home_arg, "--observer", "--key", key_arg];
    let genesis = NetworkGenesis::load(&cluster.net_dir().join("genesis.json")).unwrap();
    let hash = genesis.ledger.hash().to_hex();

    // Nothing answers.
    let closed = kopnet_testnet::cluster::ports::reserve(1).unwrap()[0];
    let nobody = format!("http://127.0.0.1:{closed}");
    refused(
        &home,
        &[&base[..], &["--join", &nobody]].concat(),
        "cannot fetch the genesis from",
    );
    // An answer past the bound (4 MiB) is refused while it is read.
    let big = format!("http://127.0.0.1:{}", oversized_server(16 * 1024 * 1024));
    refused(
        &home,
        &[&base[..], &["--join", &big]].concat(),
        "longer than 4194304 bytes",
    );
    // The network's genesis, but not the one the operator pinned.
    let zeros = "0".repeat(64);
    let pinned = [&base[..], &["--join", &url, "--genesis-hash", &zeros]].concat();
    refused(&home, &pinned, "is not the network you meant to join");
    let malformed = [&base[..], &["--join", &url, "--genesis-hash", "5f0c"]].concat();
    refused(&home, &malformed, "write the 64 hex digits");
    refused(
        &home,
        &[&base[..], &["--join", "no/such/genesis.json"]].concat(),
        "not a node URL",
    );

    // The real thing, pinned to the right hash.
    let ports = kopnet_testnet::cluster::ports::reserve(2).unwrap();
    let api = format!("127.0.0.1:{}", ports[0]);
    let listen = format!("/ip4/127.0.0.1/tcp/{}", ports[1]);
    let peers = peer_addresses(&cluster);
    let mut args: Vec<&str> = [&base[..], &["--join", &url, "--genesis-hash", &hash]].concat();
    args.extend(["--api", &api, "--listen", &listen, "--output", "json"]);
    for peer in &peers {
        args.extend(["--peer", peer]);
    }
    let out = init(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(made["chain_id"], cluster.chain_id.as_str());
    assert_eq!(made["genesis_hash"], hash.as_str());
    assert_eq!(made["role"], "observer");
    assert_eq!(made["peers"], serde_json::json!(peers));
    assert_eq!(
        NetworkGenesis::load(&home.join("genesis.json")).unwrap(),
        genesis
    );

    // It runs and catches up with the validator.
    let log = std::fs::File::create(cluster.dir.path().join("joined.log")).unwrap();
    let _joined = KillOnDrop(
        Command::new(kopnet())
            .args(["node", "run", "--home", home_arg])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let joined_api = format!("http://{api}");
    let target = cluster.height(0).unwrap() + 1;
    wait_for(
        "the joined observer to catch up",
        Duration::from_secs(90),
        || (height_of(&joined_api)? >= target).then_some(()),
    );

    // Without --peer, the URL's host on the default p2p port is the
    // bootstrap peer (and a file source works the same way).
    let second = cluster.dir.path().join("second");
    let out = init(&[
        "--home",
        second.to_str().unwrap(),
        "--observer",
        "--key",
        key_arg,
        "--join",
        &format!("{url}/v1/genesis"),
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        made["peers"],
        serde_json::json!(["/ip4/127.0.0.1/tcp/26656"])
    );
    let from_file = cluster.dir.path().join("from-file");
    let file = cluster.net_dir().join("genesis.json");
    let out = init(&[
        "--home",
        from_file.to_str().unwrap(),
        "--observer",
        "--key",
        key_arg,
        "--join",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&hash));
}
