//! One dashboard panel drawn as an SVG line chart: what Grafana would show,
//! for the README (Grafana is not packaged by Debian, so the docs cannot
//! run it). Same plotters setup as `kopnet bench`'s chart
//! (`testnet/src/bench/chart.rs`).

use plotters::prelude::*;
use std::path::Path;

/// One line: its legend and its points (seconds since the start, value).
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Where the legend column starts, and the height of one of its rows.
const LEGEND_X: u32 = 760;
const LEGEND_ROW: i32 = 16;

const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Draw `lines` under `title` (`unit` on the y axis) into `path`.
pub fn write(path: &Path, title: &str, unit: &str, lines: &[Line]) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let finite = || {
        lines
            .iter()
            .flat_map(|l| l.points.iter())
            .filter(|(_, y)| y.is_finite())
    };
    let x_max = finite().map(|(x, _)| *x).fold(1.0, f64::max);
    // The data's range, as Grafana scales by default.
    let y_max = finite().map(|(_, y)| *y).fold(f64::NEG_INFINITY, f64::max);
    let y_min = finite().map(|(_, y)| *y).fold(f64::INFINITY, f64::min);
    let (y_min, y_max) = if y_min <= y_max {
        (y_min, y_max)
    } else {
        (0.0, 1.0)
    };
    let range = y_max - y_min;
    let pad = if range > 0.0 {
        range / 10.0
    } else {
        (y_max.abs() / 10.0).max(0.5)
    };
    // Not below zero for a series that never is.
    let y_low = if y_min >= 0.0 {
        (y_min - pad).max(0.0)
    } else {
        y_min - pad
    };
    let root = SVGBackend::new(path, (1000, 380)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let (plot, legend) = root.split_horizontally(LEGEND_X);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..x_max, y_low..y_max + pad)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc(unit)
        .draw()
        .map_err(|e| fail(&e))?;
    for (i, line) in lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        // NaN (a ratio of nothing) leaves a gap, as in Grafana.
        for segment in line.points.split(|(_, y)| !y.is_finite()) {
            chart
                .draw_series(LineSeries::new(segment.iter().copied(), colour))
                .map_err(|e| fail(&e))?;
        }
    }
    // The legend beside the chart, one line per series, as many as fit.
    let fits = usize::try_from((380 - 40) / LEGEND_ROW).unwrap_or(0);
    for (i, line) in lines.iter().enumerate().take(fits) {
        let colour = COLOURS[i % COLOURS.len()];
        let y = 40 + LEGEND_ROW * i32::try_from(i).unwrap_or(0);
        legend
            .draw(&PathElement::new(
                vec![(4, y), (24, y)],
                colour.stroke_width(2),
            ))
            .map_err(|e| fail(&e))?;
        legend
            .draw(&Text::new(
                line.label.clone(),
                (30, y - 6),
                ("sans-serif", 12),
            ))
            .map_err(|e| fail(&e))?;
    }
    if lines.len() > fits {
        let more = format!("... {} more", lines.len() - fits);
        legend
            .draw(&Text::new(
                more,
                (30, 40 + LEGEND_ROW * i32::try_from(fits).unwrap_or(0)),
                ("sans-serif", 12),
            ))
            .map_err(|e| fail(&e))?;
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
