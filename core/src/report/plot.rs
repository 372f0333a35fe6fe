//! The report's plots, drawn once per backend: SVG for the book, PNG for everywhere else.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Group, ReportError, Row};
use crate::ir::Convention;
use crate::units::sci;

const SIZE: (u32, u32) = (960, 640);
/// Two charts side by side.
const PAIR_SIZE: (u32, u32) = (1600, 640);
const FONT: &str = "sans-serif";

/// Colours that stay apart in print and for the common colour-vision deficiencies (Okabe-Ito).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

/// Text is laid out with the bundled font, so plots look the same on every machine.
fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
            plotters::style::register_font(FONT, FontStyle::Normal, bytes)
                .map_err(|_| "the bundled font does not load".to_string())
        })
        .clone()
}

/// One series: a label's points, in x order.
struct Series {
    label: String,
    points: Vec<(f64, f64, Option<f64>)>,
}

/// What one plot shows.
struct Figure {
    title: String,
    x_desc: String,
    y_desc: String,
    series: Vec<Series>,
    /// Connect each series' points (curves, or one model across budgets).
    lines: bool,
    /// Draw the lower-left envelope of all points.
    pareto: bool,
}

/// Writes the group's three plots, each as SVG and PNG, and returns their paths. Where some
/// model's graph is pruned (its exact count is below its dense one), a fourth plot sets the test
/// NLL against both counts side by side: the same runs, charged two ways.
pub fn plot_group(group: &Group, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let stem = group.stem();
    let what = format!("{} ({}), objective {}", group.corpus, group.tokenizer, group.objective);
    let rows = || group.rows.iter().filter(|r| r.test_nll.n > 0);
    let labels = group.labels();
    // Budgets charged for every position are drawn on that axis; all others on the exact one.
    let axis = if group.rows.iter().all(|r| r.convention == Convention::Dense) {
        Convention::Dense
    } else {
        Convention::Exact
    };
    let axis_desc = |what: &str| match axis {
        Convention::Dense => format!("{what}, dense count: every position (log scale)"),
        _ => format!("{what}, exact count (log scale)"),
    };
    let by_label = |x: &dyn Fn(&Row) -> f64| -> Vec<Series> {
        labels
            .iter()
            .map(|label| {
                let mut points: Vec<_> =
                    rows().filter(|r| r.label == *label).map(|r| (x(r), r.test_nll.mean, r.test_nll.sd)).collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series { label: label.to_string(), points }
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let figures = [
        (
            "nll-vs-flops",
            Figure {
                title: format!("Test NLL against training FLOPs ({axis}) — {what}"),
                x_desc: axis_desc("training FLOPs"),
                y_desc: "test NLL (nats)".into(),
                series: by_label(&|r| r.flops(axis)),
                lines: true,
                pareto: true,
            },
        ),
        (
            "nll-vs-params",
            Figure {
                title: format!("Test NLL against parameters — {what}"),
                x_desc: "parameters (log scale)".into(),
                y_desc: "test NLL (nats)".into(),
                series: by_label(&|r| r.params as f64),
                lines: false,
                pareto: false,
            },
        ),
        (
            "curves",
            Figure {
                title: format!("Validation NLL during training — {what}"),
                x_desc: axis_desc("training FLOPs"),
                y_desc: "validation NLL (nats)".into(),
                series: curves(group, axis),
                lines: true,
                pareto: false,
            },
        ),
    ];
    let pruned = rows().any(|r| r.flops(Convention::Exact) < r.flops(Convention::Dense));
    let both = pruned.then(|| {
        [Convention::Exact, Convention::Dense].map(|c| Figure {
            title: format!("Charged {} — {what}", if c == Convention::Exact { "as run" } else { "for every position" }),
            x_desc: format!("training FLOPs, {c} count (log scale)"),
            y_desc: "test NLL (nats)".into(),
            series: by_label(&|r| r.flops(c)),
            lines: true,
            pareto: true,
        })
    });
    register_font().map_err(|message| ReportError::Write { path: out.to_path_buf(), message })?;
    let mut written = Vec::new();
    let mut write = |name: &str, size: (u32, u32), figures: &[&Figure]| -> Result<(), ReportError> {
        for ext in ["svg", "png"] {
            let path = out.join(format!("{stem}-{name}.{ext}"));
            let drawn = match ext {
                "svg" => draw(SVGBackend::new(&path, size).into_drawing_area(), figures),
                _ => draw(BitMapBackend::new(&path, size).into_drawing_area(), figures),
            };
            drawn.map_err(|message| ReportError::Write { path: path.clone(), message })?;
            written.push(path);
        }
        Ok(())
    };
    for (name, figure) in figures.iter().filter(|(_, f)| !f.series.is_empty()) {
        write(name, SIZE, &[figure])?;
    }
    if let Some([exact, dense]) = both.as_ref().filter(|b| !b[0].series.is_empty()) {
        write("nll-vs-flops-both", PAIR_SIZE, &[exact, dense])?;
    }
    Ok(written)
}

/// The validation curve of each row's first seed, on the `axis` convention's FLOPs.
fn curves(group: &Group, axis: Convention) -> Vec<Series> {
    let several_budgets = |label: &str| group.rows.iter().filter(|r| r.label == label).count() > 1;
    group
        .rows
        .iter()
        .filter_map(|row| {
            let run = row.runs.first()?;
            let r = &run.record;
            // The curve counts FLOPs in the budget's convention; rescale to the axis's.
            let per = r.flops_per_sample.get(r.convention) as f64;
            let scale = if per > 0.0 { r.flops_per_sample.get(axis) as f64 / per } else { 1.0 };
            let points: Vec<_> = run
                .curve
                .iter()
                .filter_map(|p| Some((p.flops as f64 * scale, p.valid_nll?, None)))
                .filter(|p| p.0 > 0.0 && p.1.is_finite())
                .collect();
            let label = if several_budgets(&row.label) {
                format!("{} @ {}", row.label, row.limits())
            } else {
                row.label.clone()
            };
            (!points.is_empty()).then_some(Series { label, points })
        })
        .collect()
}

/// Draws the figures side by side on one white canvas.
fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, figures: &[&Figure]) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    for (area, figure) in root.split_evenly((1, figures.len())).into_iter().zip(figures) {
        chart(&area, figure)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, figure: &Figure) -> Result<(), String> {
    let error = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let all = || figure.series.iter().flat_map(|s| s.points.iter());
    let (mut x_min, mut x_max) = all().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let (mut y_min, mut y_max) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        let sd = p.2.unwrap_or(0.0);
        (lo.min(p.1 - sd), hi.max(p.1 + sd))
    });
    // Room around the points; a log axis needs a positive range even for one point.
    x_min /= 1.6;
    x_max *= 1.6;
    let pad = ((y_max - y_min) * 0.08).max(0.02);
    y_min -= pad;
    y_max += pad;

    let mut chart = ChartBuilder::on(root)
        .caption(&figure.title, (FONT, 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((x_min..x_max).log_scale(), y_min..y_max)
        .map_err(error)?;
    chart
        .configure_mesh()
        .x_desc(&figure.x_desc)
        .y_desc(&figure.y_desc)
        .x_label_formatter(&|v| sci(*v))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(error)?;

    for (i, series) in figure.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<(f64, f64)> = series.points.iter().map(|p| (p.0, p.1)).collect();
        let legend = move |(x, y): (i32, i32)| Circle::new((x + 10, y), 4, color.filled());
        if figure.lines {
            chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2))).map_err(error)?;
        }
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, if figure.lines { 3 } else { 5 }, color.filled())))
            .map_err(error)?
            .label(series.label.clone())
            .legend(legend);
        let bars = series.points.iter().filter_map(|p| {
            let sd = p.2?;
            Some(ErrorBar::new_vertical(p.0, p.1 - sd, p.1, p.1 + sd, color.stroke_width(1), 8))
        });
        chart.draw_series(bars).map_err(error)?;
    }
    if figure.pareto {
        let front = pareto_front(all().map(|p| (p.0, p.1)).collect());
        if front.len() > 1 {
            chart
                .draw_series(DashedLineSeries::new(front, 6, 4, BLACK.stroke_width(1)))
                .map_err(error)?
                .label("Pareto front")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(error)
}

/// The points that no cheaper point beats: sorted by cost, each lower than all before it.
pub(crate) fn pareto_front(mut points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for p in points {
        if front.last().is_none_or(|last| p.1 < last.1) {
            front.push(p);
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use super::pareto_front;

    #[test]
    fn the_front_keeps_only_improvements() {
        let points = vec![(3.0, 2.0), (1.0, 3.0), (2.0, 3.5), (4.0, 1.0), (5.0, 1.5)];
        assert_eq!(pareto_front(points), vec![(1.0, 3.0), (3.0, 2.0), (4.0, 1.0)]);
    }
}
