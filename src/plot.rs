//! Coefficient paths as a picture (glmnet's `plot.glmnet(xvar = "lambda")`): every feature
//! that is ever non-zero is one curve of its coefficient against log(lambda), the number of
//! non-zeros is written along the top, and the first features to enter are labelled by name.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::output::write_atomic;

/// How many of the first features to enter get a label.
const LABELLED: usize = 8;

/// The curves of a path: for each feature ever non-zero, its coefficient at every lambda.
pub fn coefficient_curves(models: &[Model]) -> Vec<(usize, Vec<f64>)> {
    let mut order: Vec<usize> = Vec::new();
    for m in models {
        for &j in &m.coef.indices {
            if !order.contains(&j) {
                order.push(j);
            }
        }
    }
    order
        .into_iter()
        .map(|j| {
            let values = models
                .iter()
                .map(|m| {
                    m.coef
                        .indices
                        .iter()
                        .position(|&i| i == j)
                        .map_or(0.0, |k| m.coef.values[k])
                })
                .collect();
            (j, values)
        })
        .collect()
}

/// Writes the plot of a path as SVG (atomically). `models` are in grid order.
pub fn write_path_plot(path: &Path, models: &[Model], names: Option<&[String]>) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "svg" {
        return Err(Error::Unsupported(format!(
            "{}: plots are written as .svg (PNG needs font and image libraries lariat does not ship)",
            path.display()
        )));
    }
    let svg = render_svg(models, names)?;
    write_atomic(path, svg.as_bytes())
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Unsupported(format!("drawing the plot: {e}"))
}

/// The SVG text of the plot.
pub fn render_svg(models: &[Model], names: Option<&[String]>) -> Result<String> {
    if models.is_empty() {
        return Err(Error::Unsupported(
            "nothing to plot: the path is empty".into(),
        ));
    }
    let log_l: Vec<f64> = models.iter().map(|m| m.lambda.ln()).collect();
    let curves = coefficient_curves(models);
    let (x_lo, x_hi) = log_l
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (x_lo, x_hi) = if x_hi > x_lo {
        (x_lo, x_hi)
    } else {
        (x_lo - 1.0, x_hi + 1.0)
    };
    let y_abs = curves
        .iter()
        .flat_map(|(_, v)| v.iter())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let y_abs = if y_abs > 0.0 { y_abs * 1.08 } else { 1.0 };
    let label = |j: usize| names.map_or_else(|| format!("x{j}"), |n| n[j].clone());

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("coefficient paths", ("sans-serif", 20))
            .margin(20)
            .margin_top(50)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_lo..x_hi, -y_abs..y_abs)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("log(lambda)")
            .y_desc("coefficient")
            .draw()
            .map_err(plot_error)?;
        for (k, (_, values)) in curves.iter().enumerate() {
            let color = Palette99::pick(k).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    log_l.iter().copied().zip(values.iter().copied()),
                    color.stroke_width(2),
                ))
                .map_err(plot_error)?;
        }
        // Labels for the first features to enter, at the smallest lambda (the left end).
        let left = log_l
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        for (k, (j, values)) in curves.iter().take(LABELLED).enumerate() {
            let color = Palette99::pick(k).to_rgba();
            chart
                .draw_series(std::iter::once(Text::new(
                    label(*j),
                    (log_l[left], values[left]),
                    ("sans-serif", 13).into_font().color(&color),
                )))
                .map_err(plot_error)?;
        }
        // Number of non-zeros along the top, as glmnet draws it.
        let ticks = 8.min(models.len());
        for t in 0..ticks {
            let i = if ticks == 1 {
                0
            } else {
                t * (models.len() - 1) / (ticks - 1)
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    models[i].coef.indices.len().to_string(),
                    (log_l[i], y_abs),
                    ("sans-serif", 13).into_font(),
                )))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}
