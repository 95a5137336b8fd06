//! Reads never wait for the ledger lock: while another thread holds the
//! ledger's WRITE lock (as a commit does), every read endpoint still answers
//! within its deadline, from the committed view and the store; a block
//! committed afterwards shows in the next answers.

mod reads;
use reads::{get, ReadNode};
use std::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_endpoints_answer_while_the_ledger_is_write_locked() {
    let node = ReadNode::start(5).await;
    let url = node.url.clone();
    let ani = node.members[0].to_address();
    let paid = node.payments[2].to_hex();
    let height = node.height();

    // Hold the ledger's write lock on another thread until told to let go.
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let host = node.node.host.clone();
    let holder = std::thread::spawn(move || {
        let _guard = host.ledger.write().unwrap();
        held_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    held_rx.recv().unwrap();
    assert!(
        node.node.host.ledger.try_read().is_err(),
        "the ledger is write-locked"
    );

    let paths = [
        "/v1/status".to_string(),
        "/v1/blocks?limit=5".to_string(),
        "/v1/blocks?from=1&limit=3&txs=false".to_string(),
        "/v1/blocks/3".to_string(),
        "/v1/blocks/3/raw".to_string(),
        format!("/v1/tx/{paid}"),
        format!("/v1/accounts/{ani}"),
        format!("/v1/accounts/{ani}/history?limit=3"),
        "/v1/cooperatives".to_string(),
        "/v1/invariants".to_string(),
        "/v1/settlement/windows".to_string(),
        "/v1/evidence".to_string(),
        "/v1/proposals".to_string(),
        "/v1/proposals/0".to_string(),
        "/v1/cooperatives/ksp-sejahtera/tellers".to_string(),
        format!("/v1/signers/{ani}"),
        "/v1/recoveries".to_string(),
    ];
    for path in &paths {
        let (status, body) = get(&format!("{url}{path}")).await;
        assert_eq!(status, 200, "{path} under the write lock: {body}");
    }
    let (_, status) = get(&format!("{url}/v1/status")).await;
    assert_eq!(status["height"], height);
    let (_, tx) = get(&format!("{url}/v1/tx/{paid}")).await;
    assert_eq!(tx["status"], "committed");
    assert_eq!(tx["kind"], "payment");
    let (_, invariants) = get(&format!("{url}/v1/invariants")).await;
    assert_eq!(invariants["ok"], true, "{invariants}");
    assert_eq!(invariants["members"], 3);
    let (_, coops) = get(&format!("{url}/v1/cooperatives")).await;
    let ksp = coops["cooperatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ksp-sejahtera")
        .unwrap();
    assert_eq!(ksp["members"], 3, "counted once per block: {ksp}");

    // The newest page, asked twice, is the same (the second from the page
    // kept for this block).
    let (_, newest) = get(&format!("{url}/v1/blocks?limit=1")).await;
    assert_eq!(newest["blocks"][0]["height"], height);
    assert_eq!(get(&format!("{url}/v1/blocks?limit=1")).await.1, newest);

    release_tx.send(()).unwrap();
    holder.join().unwrap();

    // The next commit is published to readers.
    let mut node = node;
    node.commit_mints(2);
    let (_, status) = get(&format!("{url}/v1/status")).await;
    assert_eq!(status["height"], height + 1);
    let (_, blocks) = get(&format!("{url}/v1/blocks?limit=1")).await;
    assert_eq!(
        blocks["blocks"][0]["height"],
        height + 1,
        "not the kept page"
    );
    assert_eq!(blocks["blocks"][0]["txs"][1]["result"], "ok");
}
