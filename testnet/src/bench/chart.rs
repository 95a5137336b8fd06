//! The SVG chart: committed tx/s and latency (p50, p99) per second.

use super::SecondSample;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// The chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart {}: {reason}", .path.display())]
pub struct ChartError {
    pub path: PathBuf,
    pub reason: String,
}

/// Draw throughput (top) and latency (bottom) over time into an SVG file.
pub fn write_svg(path: &Path, samples: &[SecondSample]) -> Result<(), ChartError> {
    let fail = |e: &dyn std::fmt::Display| ChartError {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let (top, bottom) = root.split_vertically(300);
    let x_max = samples.iter().map(|s| s.second).max().unwrap_or(1).max(1);
    let tps_max = samples
        .iter()
        .map(|s| s.committed)
        .max()
        .unwrap_or(1)
        .max(1);
    let lat_max = samples
        .iter()
        .map(|s| s.latency_ms_p99)
        .max()
        .unwrap_or(1)
        .max(1);

    let mut chart = ChartBuilder::on(&top)
        .caption("committed tx/s at the observer", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0u64..x_max, 0u64..tps_max + tps_max / 10 + 1)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("second")
        .y_desc("tx/s")
        .draw()
        .map_err(|e| fail(&e))?;
    chart
        .draw_series(LineSeries::new(
            samples.iter().map(|s| (s.second, s.committed)),
            &BLUE,
        ))
        .map_err(|e| fail(&e))?;

    let mut chart = ChartBuilder::on(&bottom)
        .caption("submit-to-commit latency (ms)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0u64..x_max, 0u64..lat_max + lat_max / 10 + 1)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("second")
        .y_desc("ms")
        .draw()
        .map_err(|e| fail(&e))?;
    chart
        .draw_series(LineSeries::new(
            samples.iter().map(|s| (s.second, s.latency_ms_p50)),
            &GREEN,
        ))
        .map_err(|e| fail(&e))?
        .label("p50")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    chart
        .draw_series(LineSeries::new(
            samples.iter().map(|s| (s.second, s.latency_ms_p99)),
            &RED,
        ))
        .map_err(|e| fail(&e))?
        .label("p99")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
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

    #[test]
    fn chart_on_synthetic_data_is_a_non_empty_svg() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.svg");
        let samples: Vec<SecondSample> = (1..=20)
            .map(|i| SecondSample {
                second: i,
                committed: 100 + i * 3,
                latency_ms_p50: 50 + i,
                latency_ms_p99: 120 + 2 * i,
            })
            .collect();
        write_svg(&path, &samples).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("<svg") && text.contains("polyline"));
    }
}
