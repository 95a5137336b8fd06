//! Disk use over time (`kopnet bench --prune-keep N`): every
//! [`DISK_SAMPLE_SECS`] the bytes of each node's home (its sled stores and
//! keys, not its log) and each node's committed and base height
//! (`GET /v1/status`), written as `prune.json` and drawn as `prune.svg`:
//! a pruning node's line goes flat once its base starts to move (the
//! horizon), an archive node's keeps growing.

use super::chart::ChartError;
use super::data_bytes;
use kopnet_node::api::client::Client;
use plotters::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Seconds between two samples.
pub const DISK_SAMPLE_SECS: u64 = 5;
/// Most samples kept (a day of samples; a longer run keeps the first day's).
pub const DISK_SAMPLES_MAX: usize = 17_280;

/// One node's figures at one sample.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeDisk {
    pub bytes: u64,
    /// Committed height (`null` if the node did not answer).
    pub height: Option<u64>,
    /// Lowest height whose block it holds.
    pub base_height: Option<u64>,
}

/// All nodes at one moment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiskSample {
    /// Seconds since the timed load started.
    pub second: u64,
    /// In layout order.
    pub nodes: Vec<NodeDisk>,
}

/// The node a line of the chart stands for.
#[derive(Debug, Clone, Serialize)]
pub struct DiskNode {
    pub id: String,
    pub role: String,
    /// `None`: archive.
    pub keep_blocks: Option<u64>,
    #[serde(skip)]
    pub home: PathBuf,
    #[serde(skip)]
    pub api: Option<Client>,
}

/// Sample the nodes every [`DISK_SAMPLE_SECS`] until `stop` says so.
pub async fn sample(
    nodes: Vec<DiskNode>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<DiskSample> {
    let started = Instant::now();
    let mut samples = Vec::new();
    loop {
        let mut figures = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let bytes = tokio::task::block_in_place(|| data_bytes(&node.home));
            let status = match &node.api {
                Some(client) => client.status().await.ok(),
                None => None,
            };
            figures.push(NodeDisk {
                bytes,
                height: status.as_ref().and_then(|s| s["height"].as_u64()),
                base_height: status.as_ref().and_then(|s| s["base_height"].as_u64()),
            });
        }
        if samples.len() < DISK_SAMPLES_MAX {
            samples.push(DiskSample {
                second: started.elapsed().as_secs(),
                nodes: figures,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(DISK_SAMPLE_SECS)) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    samples
}

/// The first second at which every pruning node's base had moved (they
/// had reached their horizon and were deleting as fast as they wrote).
pub fn horizon_second(nodes: &[DiskNode], samples: &[DiskSample]) -> Option<u64> {
    let pruning: Vec<usize> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.keep_blocks.is_some())
        .map(|(i, _)| i)
        .collect();
    if pruning.is_empty() {
        return None;
    }
    samples
        .iter()
        .find(|s| {
            pruning.iter().all(|&i| {
                s.nodes
                    .get(i)
                    .and_then(|n| n.base_height)
                    .is_some_and(|b| b > 1)
            })
        })
        .map(|s| s.second)
}

/// Draw each node's disk use (MB) over time, with the horizon marked.
pub fn write_svg(
    path: &Path,
    nodes: &[DiskNode],
    samples: &[DiskSample],
    title: &str,
) -> Result<(), ChartError> {
    let fail = |e: &dyn std::fmt::Display| ChartError {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mb = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let x_max = samples.iter().map(|s| s.second).max().unwrap_or(1).max(1);
    let y_max = samples
        .iter()
        .flat_map(|s| s.nodes.iter().map(|n| mb(n.bytes)))
        .fold(1.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0u64..x_max, 0f64..y_max * 1.1)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("second of the timed load")
        .y_desc("MB on disk (node home without its log)")
        .draw()
        .map_err(|e| fail(&e))?;
    let palette = [BLUE, GREEN, MAGENTA, CYAN, RED];
    for (i, node) in nodes.iter().enumerate() {
        let colour = match node.keep_blocks {
            Some(_) => palette[i % palette.len()],
            None => BLACK,
        };
        let label = match node.keep_blocks {
            Some(keep) => format!("{} ({}, keeps {keep} blocks)", node.id, node.role),
            None => format!("{} ({}, archive)", node.id, node.role),
        };
        let points: Vec<(u64, f64)> = samples
            .iter()
            .filter_map(|s| s.nodes.get(i).map(|n| (s.second, mb(n.bytes))))
            .collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    if let Some(second) = horizon_second(nodes, samples) {
        chart
            .draw_series(LineSeries::new(
                vec![(second, 0.0), (second, y_max * 1.1)],
                RGBColor(150, 150, 150).stroke_width(1),
            ))
            .map_err(|e| fail(&e))?
            .label("pruning horizon reached (every pruning node's base > 1)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(150, 150, 150)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, keep: Option<u64>) -> DiskNode {
        DiskNode {
            id: id.into(),
            role: "validator".into(),
            keep_blocks: keep,
            home: PathBuf::new(),
            api: None,
        }
    }

    fn at(second: u64, figures: &[(u64, u64)]) -> DiskSample {
        DiskSample {
            second,
            nodes: figures
                .iter()
                .map(|(bytes, base)| NodeDisk {
                    bytes: *bytes,
                    height: Some(second),
                    base_height: Some(*base),
                })
                .collect(),
        }
    }

    #[test]
    fn the_horizon_is_when_every_pruning_node_has_moved_its_base() {
        let nodes = [node("a", Some(300)), node("b", Some(300)), node("o", None)];
        let samples = [
            at(0, &[(10, 1), (10, 1), (10, 1)]),
            at(5, &[(20, 2), (20, 1), (20, 1)]),
            at(10, &[(21, 9), (21, 4), (30, 1)]),
        ];
        assert_eq!(horizon_second(&nodes, &samples), Some(10));
        assert_eq!(horizon_second(&nodes[2..], &samples), None);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prune.svg");
        write_svg(&path, &nodes, &samples, "disk").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("<svg") && text.contains("polyline"));
        assert!(text.contains("archive"));
    }
}
