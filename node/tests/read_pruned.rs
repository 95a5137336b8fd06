//! What a pruning node's API answers below its base: `410 pruned` with the
//! base for a block and a history page, a block page that ends at the base,
//! a history page that says older history is on archive nodes, a 404 for
//! an unknown transaction that names the base, and its status.

mod reads;
use kopnet_ledger::ledger::{Pruning, KEEP_BLOCKS_MIN};
use reads::{get, ReadNode};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_base_a_pruning_node_answers_410_pruned_with_the_base() {
    let mut node = ReadNode::start(5).await;
    let url = node.url.clone();
    let first_payment = node.payments[0];
    {
        let mut ledger = node.node.host.ledger.write().unwrap();
        ledger.set_pruning(Some(Pruning::new(KEEP_BLOCKS_MIN, vec![]).unwrap()));
    }
    // Enough blocks that the payments' blocks fall below the horizon.
    for _ in 0..KEEP_BLOCKS_MIN + 20 {
        node.commit_mints(1);
    }
    let top = node.height();
    let base = top - KEEP_BLOCKS_MIN + 1;

    let (status, body) = get(&format!("{url}/v1/status")).await;
    assert_eq!(status, 200);
    assert_eq!(body["base_height"], base, "{body}");

    let (status, body) = get(&format!("{url}/v1/blocks/1")).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"]["code"], "pruned");
    assert_eq!(body["error"]["base_height"], base);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("archive nodes"), "{message}");
    let (status, _) = get(&format!("{url}/v1/blocks/{}/raw", base - 1)).await;
    assert_eq!(status, 410);
    let (status, body) = get(&format!("{url}/v1/blocks/{base}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&format!("{url}/v1/blocks?from=1")).await;
    assert_eq!(status, 410, "{body}");

    // A page of blocks ends at the base, without a cursor past it.
    let (_, page) = get(&format!("{url}/v1/blocks?before={}&txs=false", base + 3)).await;
    let heights: Vec<u64> = page["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, vec![base + 2, base + 1, base]);
    assert_eq!(page["next_before"], Value::Null);
    assert_eq!(page["base_height"], base);

    // History: only kept transactions; Budi's were all below the base, so
    // his page is empty and says older history is on archive nodes.
    let ani = node.members[0].to_address();
    let (status, page) = get(&format!("{url}/v1/accounts/{ani}/history")).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page["items"].as_array().unwrap().is_empty());
    for item in page["items"].as_array().unwrap() {
        assert!(item["height"].as_u64().unwrap() >= base, "{item}");
    }
    let budi = node.members[1].to_address();
    let (status, page) = get(&format!("{url}/v1/accounts/{budi}/history")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], serde_json::json!([]));
    assert_eq!(page["pruned_before"], base);
    assert_eq!(page["next_before"], Value::Null);
    let (status, body) = get(&format!(
        "{url}/v1/accounts/{ani}/history?before={}:0",
        base - 1
    ))
    .await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"]["code"], "pruned");
    assert_eq!(body["error"]["base_height"], base);

    // A transaction in a pruned block: not found here, saying from where.
    let (status, body) = get(&format!("{url}/v1/tx/{}", first_payment.to_hex())).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "unknown_tx");
    assert_eq!(body["error"]["base_height"], base);
}
