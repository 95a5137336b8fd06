//! Every list endpoint is paged: `limit` clamped to its cap, a cursor that
//! continues exactly where the previous page ended, a typed 400 for a bad
//! cursor, and a page of blocks that also ends at its transaction budget.

mod reads;
use kopnet_node::api::paging::{
    BLOCKS_PAGE_MAX, BLOCKS_PAGE_TXS_MAX, HISTORY_PAGE_MAX, PROPOSALS_PAGE_MAX, WINDOWS_PAGE_MAX,
};
use reads::{get, ReadNode};
use serde_json::Value;

fn heights(page: &Value) -> Vec<u64> {
    page["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_pages_are_capped_and_continue_by_cursor() {
    let node = ReadNode::start(30).await;
    let url = &node.url;
    let top = node.height();
    assert!(top > BLOCKS_PAGE_MAX as u64 + 5);

    let (_, page) = get(&format!("{url}/v1/blocks?limit=100000")).await;
    assert_eq!(page["limit"], BLOCKS_PAGE_MAX);
    let first: Vec<u64> = heights(&page);
    let expected: Vec<u64> = (top - BLOCKS_PAGE_MAX as u64 + 1..=top).rev().collect();
    assert_eq!(first, expected, "newest first, capped");
    let before = page["next_before"].as_u64().unwrap();
    assert_eq!(before, *first.last().unwrap());
    let (_, next) = get(&format!("{url}/v1/blocks?before={before}&limit=5")).await;
    assert_eq!(
        heights(&next),
        (before - 5..before).rev().collect::<Vec<_>>()
    );

    let (_, up) = get(&format!("{url}/v1/blocks?from=1&limit=4")).await;
    assert_eq!(heights(&up), vec![1, 2, 3, 4]);
    assert_eq!(up["next_from"], 5);
    let (_, end) = get(&format!("{url}/v1/blocks?from={top}")).await;
    assert_eq!(heights(&end), vec![top]);
    assert_eq!(end["next_from"], Value::Null, "the last page says so");
    let (_, bottom) = get(&format!("{url}/v1/blocks?before=3")).await;
    assert_eq!(heights(&bottom), vec![2, 1]);
    assert_eq!(bottom["next_before"], Value::Null);

    let (_, headers) = get(&format!("{url}/v1/blocks?limit=2&txs=false")).await;
    assert!(headers["blocks"][0].get("txs").is_none(), "{headers}");
    assert!(headers["blocks"][0]["tx_count"].is_u64());

    for bad in ["from=1&before=5", "limit=-1", "before=x", "colour=red"] {
        let (status, body) = get(&format!("{url}/v1/blocks?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_query");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_blocks_ends_at_its_transaction_budget() {
    let mut node = ReadNode::start(0).await;
    let per_block = BLOCKS_PAGE_TXS_MAX / 4;
    for _ in 0..5 {
        node.commit_mints(per_block);
    }
    let top = node.height();
    let (_, page) = get(&format!("{}/v1/blocks?limit=20", node.url)).await;
    // Four full blocks reach the budget: the page ends there.
    assert_eq!(heights(&page), vec![top, top - 1, top - 2, top - 3]);
    assert_eq!(page["next_before"], top - 3);
    let txs: usize = page["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["txs"].as_array().unwrap().len())
        .sum();
    assert_eq!(txs, BLOCKS_PAGE_TXS_MAX);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_proposals_windows_evidence_and_cooperatives_are_paged() {
    let node = ReadNode::start(12).await;
    let url = &node.url;
    let budi = node.members[1].to_address();

    // History: Budi's registration, the 12 payments he received and the
    // proposal to freeze him, newest first.
    let (_, page) = get(&format!("{url}/v1/accounts/{budi}/history?limit=5")).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["kind"], "propose", "newest first");
    assert_eq!(items[1]["hash"], node.payments[11].to_hex());
    assert_eq!(items[4]["hash"], node.payments[8].to_hex());
    let cursor = page["next_before"].as_str().unwrap().to_string();
    let (_, next) = get(&format!(
        "{url}/v1/accounts/{budi}/history?limit=5&before={cursor}"
    ))
    .await;
    assert_eq!(next["items"][0]["hash"], node.payments[7].to_hex());
    let (_, all) = get(&format!("{url}/v1/accounts/{budi}/history?limit=1000000")).await;
    assert_eq!(all["limit"], HISTORY_PAGE_MAX);
    assert_eq!(all["items"].as_array().unwrap().len(), 14);
    assert_eq!(all["next_before"], Value::Null);
    let (status, body) = get(&format!("{url}/v1/accounts/{budi}/history?before=12")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_cursor");

    // Proposals: three, newest first, by `before`.
    let (_, page) = get(&format!("{url}/v1/proposals?limit=2")).await;
    let ids: Vec<u64> = page["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![2, 1]);
    assert_eq!(page["next_before"], 1);
    let (_, rest) = get(&format!("{url}/v1/proposals?before=1&limit=1000")).await;
    assert_eq!(rest["limit"], PROPOSALS_PAGE_MAX);
    assert_eq!(rest["proposals"][0]["id"], 0);
    assert_eq!(rest["next_before"], Value::Null);

    // Windows and evidence: none yet, the caps still apply.
    let (_, windows) = get(&format!("{url}/v1/settlement/windows?limit=1000&before=99")).await;
    assert_eq!(windows["limit"], WINDOWS_PAGE_MAX);
    assert_eq!(windows["windows"], serde_json::json!([]));
    let (_, evidence) = get(&format!("{url}/v1/evidence?limit=0")).await;
    assert_eq!(evidence["limit"], 1);
    let (status, body) = get(&format!("{url}/v1/evidence?before=1")).await;
    assert_eq!(status, 400, "{body}");

    // Cooperatives: by id, `after` the last one of the previous page.
    let (_, all) = get(&format!("{url}/v1/cooperatives")).await;
    let ids: Vec<String> = all["cooperatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 4, "{ids:?}");
    let (_, first) = get(&format!("{url}/v1/cooperatives?limit=2")).await;
    assert_eq!(first["next_after"], ids[1].as_str());
    let (_, second) = get(&format!("{url}/v1/cooperatives?limit=2&after={}", ids[1])).await;
    assert_eq!(second["cooperatives"][0]["id"], ids[2].as_str());
}

/// `[pages]` of config.toml is what the endpoints apply: a node configured
/// with small pages clamps to them and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_page_sizes_are_the_ones_applied() {
    let pages = kopnet_node::api::paging::PagesConfig {
        blocks_default: 2,
        blocks_max: 3,
        blocks_txs_max: 5,
        history_default: 2,
        history_max: 4,
        proposals_max: 1,
        cooperatives_max: 2,
        ..Default::default()
    };
    let node = ReadNode::start_with_pages(12, pages).await;
    let url = &node.url;
    let (_, page) = get(&format!("{url}/v1/blocks?txs=false")).await;
    assert_eq!(page["limit"], 2);
    assert_eq!(heights(&page).len(), 2);
    let (_, page) = get(&format!("{url}/v1/blocks?limit=1000&txs=false")).await;
    assert_eq!(page["limit"], 3);
    assert_eq!(heights(&page).len(), 3);
    let budi = node.members[1].to_address();
    let (_, history) = get(&format!("{url}/v1/accounts/{budi}/history?limit=1000")).await;
    assert_eq!(history["limit"], 4);
    assert_eq!(history["items"].as_array().unwrap().len(), 4);
    let (_, proposals) = get(&format!("{url}/v1/proposals?limit=1000")).await;
    assert_eq!(proposals["limit"], 1);
    assert_eq!(proposals["proposals"].as_array().unwrap().len(), 1);
    let (_, coops) = get(&format!("{url}/v1/cooperatives")).await;
    assert_eq!(coops["cooperatives"].as_array().unwrap().len(), 2);
    assert!(coops["next_after"].is_string(), "{coops}");
}

/// A page of blocks carries each transaction's result, taken from the
/// block's transaction index: committed and rejected alike, in block order.
#[tokio::test]
async fn a_block_page_names_each_transaction_result_in_block_order() {
    let mut node = ReadNode::start(1).await;
    node.commit_payments(&[10, 1_000_000_000, 20]);
    let (_, page) = get(&format!("{}/v1/blocks?limit=1", node.url)).await;
    let results: Vec<&str> = page["blocks"][0]["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tx| tx["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["ok", "insufficient_funds", "ok"], "{page}");
}
