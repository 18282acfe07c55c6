//! Coefficient paths as a picture (glmnet's `plot.glmnet(xvar = "lambda")`): every feature
//! that is ever non-zero is one curve of its coefficient against log(lambda), the number of
//! non-zeros is written along the top, and the first features to enter are labelled by name.
//! Written as SVG or PNG (chosen by the extension); the PNG's text uses an embedded DejaVu Sans
//! (assets/fonts, Bitstream Vera licence), so it looks the same on every machine.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
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

/// Picture size in pixels.
const SIZE: (u32, u32) = (900, 600);
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// The picture formats, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotFormat {
    Svg,
    Png,
}

/// The format of a plot file from its extension, or a clear error.
pub fn plot_format(path: &Path) -> Result<PlotFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "svg" => Ok(PlotFormat::Svg),
        "png" => Ok(PlotFormat::Png),
        _ => Err(Error::Unsupported(format!(
            "{}: plots are written as .svg or .png (by the file's extension)",
            path.display()
        ))),
    }
}

/// Writes the plot of a path (atomically), as SVG or PNG by the extension of `path`. `models`
/// are in grid order.
pub fn write_path_plot(path: &Path, models: &[Model], names: Option<&[String]>) -> Result<()> {
    write_atomic(path, &render_path_plot(path, models, names)?)
}

/// The bytes of the plot that [`write_path_plot`] writes to `path` (its format from the
/// extension), for callers that publish several outputs together.
pub fn render_path_plot(
    path: &Path,
    models: &[Model],
    names: Option<&[String]>,
) -> Result<Vec<u8>> {
    Ok(match plot_format(path)? {
        PlotFormat::Svg => render_svg(models, names)?.into_bytes(),
        PlotFormat::Png => render_png(models, names)?,
    })
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Unsupported(format!("drawing the plot: {e}"))
}

/// Text needs a registered font (ab_glyph has no system font lookup): ours, once.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Only fails on bytes that are not a font, which include_bytes! rules out.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The PNG file of the plot (8-bit RGB).
pub fn render_png(models: &[Model], names: Option<&[String]>) -> Result<Vec<u8>> {
    register_font();
    let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, models, names)?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, SIZE.0, SIZE.1);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let png_error = |e: png::EncodingError| Error::Unsupported(format!("encoding the PNG: {e}"));
    let mut writer = enc.write_header().map_err(png_error)?;
    writer.write_image_data(&rgb).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

/// The SVG text of the plot.
pub fn render_svg(models: &[Model], names: Option<&[String]>) -> Result<String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, models, names)?;
    }
    Ok(svg)
}

/// Draws the plot on any plotters backend.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    models: &[Model],
    names: Option<&[String]>,
) -> Result<()> {
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

    {
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(root)
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
    Ok(())
}
