//! The commit interval of a run: the time between consecutive blocks'
//! header times (`time_ms`, set by each block's proposer), read back after
//! the load from one node's block headers (`GET /v1/blocks?txs=false`,
//! pages of 20), so that measuring adds nothing during the load.

use crate::cluster::traffic::percentile;
use kopnet_node::api::client::Client;

/// Blocks a page of headers holds (the API's cap).
const HEADERS_PAGE_BLOCKS: u64 = 20;
/// Most pages read: a bound on the read-back, whatever the run's length.
const HEADERS_PAGES_MAX: u64 = 10_000;

/// Commit intervals between blocks `from..=to`, in ms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitIntervals {
    pub blocks: u64,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

/// Read the headers of blocks `from..=to` from `node` and measure.
pub async fn measure(node: &Client, from: u64, to: u64) -> CommitIntervals {
    let mut times = Vec::new();
    let mut next = from.max(1);
    for _ in 0..HEADERS_PAGES_MAX {
        if next > to {
            break;
        }
        let Ok(page) = node
            .get(&format!(
                "/v1/blocks?from={next}&limit={HEADERS_PAGE_BLOCKS}&txs=false"
            ))
            .await
        else {
            break;
        };
        let blocks = page["blocks"].as_array().cloned().unwrap_or_default();
        if blocks.is_empty() {
            break;
        }
        for block in blocks {
            let (Some(height), Some(time)) = (block["height"].as_u64(), block["time_ms"].as_u64())
            else {
                continue;
            };
            if height <= to {
                times.push(time);
            }
            next = height.saturating_add(1);
        }
    }
    of_times(&times)
}

/// Intervals between consecutive header times.
pub fn of_times(times: &[u64]) -> CommitIntervals {
    let intervals: Vec<u64> = times
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => Some(b.saturating_sub(*a)),
            _ => None,
        })
        .collect();
    CommitIntervals {
        blocks: times.len() as u64,
        p50_ms: percentile(&intervals, 50),
        p99_ms: percentile(&intervals, 99),
        max_ms: intervals.iter().copied().max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_the_gaps_between_header_times() {
        let m = of_times(&[1_000, 1_300, 1_500, 2_500]);
        assert_eq!(m.blocks, 4);
        assert_eq!(m.p50_ms, 300);
        assert_eq!(m.max_ms, 1_000);
        assert_eq!(of_times(&[]), CommitIntervals::default());
    }
}
