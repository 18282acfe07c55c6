//! Coefficient paths as a picture (glmnet's `plot.glmnet(xvar = "lambda")`): every feature
//! that is ever non-zero is one curve of its coefficient against log(lambda), the number of
//! non-zeros is written along the top, and the first features to enter are labelled by name.
//! Written as SVG or PNG (chosen by the extension); the PNG's text uses an embedded DejaVu Sans
//! (assets/fonts, Bitstream Vera licence), so it looks the same on every machine.

use std::path::Path;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
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
    render(plot_format(path)?, &PathPicture { models, names })
}

/// Writes plot.cv.glmnet's picture of a cross-validation (atomically), by the extension.
pub fn write_cv_plot(path: &Path, cv: &CvPicture) -> Result<()> {
    write_atomic(path, &render_cv_plot(path, cv)?)
}

/// The bytes of the plot that [`write_cv_plot`] writes to `path`.
pub fn render_cv_plot(path: &Path, cv: &CvPicture) -> Result<Vec<u8>> {
    render(plot_format(path)?, cv)
}

/// The bytes of the demo's plot for `path`.
pub fn render_demo_plot(path: &Path, picture: &DemoPicture) -> Result<Vec<u8>> {
    render(plot_format(path)?, picture)
}

/// The bytes of the training-and-test-error plot for `path`.
pub fn render_error_plot(path: &Path, picture: &ErrorPicture) -> Result<Vec<u8>> {
    render(plot_format(path)?, picture)
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

/// A picture that can be drawn on any plotters backend.
pub trait Picture {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// The bytes of a picture's file: SVG text or an 8-bit RGB PNG.
pub fn render(format: PlotFormat, picture: &impl Picture) -> Result<Vec<u8>> {
    register_font();
    match format {
        PlotFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
                picture.draw(&root)?;
            }
            Ok(svg.into_bytes())
        }
        PlotFormat::Png => {
            let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
                picture.draw(&root)?;
            }
            encode_png(&rgb)
        }
    }
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, SIZE.0, SIZE.1);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let png_error = |e: png::EncodingError| Error::Unsupported(format!("encoding the PNG: {e}"));
    let mut writer = enc.write_header().map_err(png_error)?;
    writer.write_image_data(rgb).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

/// The coefficient paths of a path's models (in grid order).
pub struct PathPicture<'a> {
    pub models: &'a [Model],
    pub names: Option<&'a [String]>,
}

impl Picture for PathPicture<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        draw(root, self.models, self.names)
    }
}

/// plot.cv.glmnet's picture: `cvm` with `cvm +- cvsd` error bars against log(lambda), dotted
/// vertical lines at lambda_min and lambda_1se, the number of non-zeros along the top.
pub struct CvPicture<'a> {
    pub lambdas: &'a [f64],
    pub cvm: &'a [f64],
    pub cvsd: &'a [f64],
    pub nzero: &'a [usize],
    pub lambda_min: f64,
    pub lambda_1se: f64,
}

/// The colour of the CV points (plot.cv.glmnet's red).
pub const CV_POINT_RGB: (u8, u8, u8) = (220, 20, 20);
/// The colour of the error bars.
pub const CV_BAR_RGB: (u8, u8, u8) = (120, 120, 120);

impl Picture for CvPicture<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        if self.lambdas.is_empty() {
            return Err(Error::Unsupported("nothing to plot: no lambdas".into()));
        }
        let log_l: Vec<f64> = self.lambdas.iter().map(|l| l.ln()).collect();
        let (x_lo, x_hi) = padded_range(log_l.iter().copied());
        let (y_lo, y_hi) = padded_range(
            self.cvm
                .iter()
                .zip(self.cvsd)
                .flat_map(|(m, s)| [m - s, m + s]),
        );
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = mse_chart(root, "cross-validation", (x_lo, x_hi), (y_lo, y_hi))?;
        let bar = RGBColor(CV_BAR_RGB.0, CV_BAR_RGB.1, CV_BAR_RGB.2);
        chart
            .draw_series(
                log_l
                    .iter()
                    .zip(self.cvm.iter().zip(self.cvsd))
                    .map(|(&x, (&m, &s))| {
                        ErrorBar::new_vertical(x, m - s, m, m + s, bar.stroke_width(1), 6)
                    }),
            )
            .map_err(plot_error)?;
        let point = RGBColor(CV_POINT_RGB.0, CV_POINT_RGB.1, CV_POINT_RGB.2);
        chart
            .draw_series(
                log_l
                    .iter()
                    .zip(self.cvm)
                    .map(|(&x, &m)| Circle::new((x, m), 3, point.filled())),
            )
            .map_err(plot_error)?;
        for lambda in [self.lambda_min, self.lambda_1se] {
            mark_lambda(&mut chart, lambda, (y_lo, y_hi))?;
        }
        let ticks = 8.min(self.lambdas.len());
        for t in 0..ticks {
            let i = if ticks == 1 {
                0
            } else {
                t * (self.lambdas.len() - 1) / (ticks - 1)
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    self.nzero[i].to_string(),
                    (log_l[i], y_hi),
                    ("sans-serif", 13).into_font(),
                )))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
        Ok(())
    }
}

/// Training and test mean squared error against log(lambda): where the two curves part is
/// where the model starts to fit noise.
pub struct ErrorPicture<'a> {
    pub lambdas: &'a [f64],
    pub train: &'a [f64],
    pub test: &'a [f64],
}

/// The colours of the training and test curves.
pub const TRAIN_RGB: (u8, u8, u8) = (30, 90, 200);
pub const TEST_RGB: (u8, u8, u8) = (220, 20, 20);

impl Picture for ErrorPicture<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_error)?;
        self.draw_marked(root, None)?;
        root.present().map_err(plot_error)
    }
}

impl ErrorPicture<'_> {
    /// Draws the curves, with a dashed line at `mark` (a lambda) when given.
    fn draw_marked<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        mark: Option<f64>,
    ) -> Result<()> {
        if self.lambdas.is_empty() {
            return Err(Error::Unsupported("nothing to plot: no lambdas".into()));
        }
        let log_l: Vec<f64> = self.lambdas.iter().map(|l| l.ln()).collect();
        let (x_lo, x_hi) = padded_range(log_l.iter().copied());
        let (y_lo, y_hi) = padded_range(self.train.iter().chain(self.test).copied());
        let mut chart = mse_chart(root, "training and test error", (x_lo, x_hi), (y_lo, y_hi))?;
        for (values, rgb, name) in [
            (self.train, TRAIN_RGB, "training"),
            (self.test, TEST_RGB, "test"),
        ] {
            let color = RGBColor(rgb.0, rgb.1, rgb.2);
            chart
                .draw_series(LineSeries::new(
                    log_l.iter().copied().zip(values.iter().copied()),
                    color.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
        }
        if let Some(lambda) = mark {
            mark_lambda(&mut chart, lambda, (y_lo, y_hi))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE)
            .border_style(BLACK)
            .draw()
            .map_err(plot_error)?;
        Ok(())
    }
}

/// The demo's two pictures side by side: each solver's suboptimality `P(w_k) - P*` against
/// its iterations (log scale), and the training and test error along the path against
/// log(lambda), with the lambda cross-validation picks marked.
pub struct DemoPicture<'a> {
    /// `(solver, [(iterations, objective)])`.
    pub traces: &'a [(String, Vec<(usize, f64)>)],
    pub best_objective: f64,
    pub lambdas: &'a [f64],
    pub train: &'a [f64],
    pub test: &'a [f64],
    pub cv_lambda: f64,
}

/// The colours of the race's solvers, in the order they are given.
pub const RACE_RGB: [(u8, u8, u8); 3] = [(200, 120, 0), (30, 150, 60), (120, 40, 160)];

/// Suboptimalities below this are drawn at it (a log scale has no zero).
const SUBOPT_FLOOR: f64 = 1e-16;

impl Picture for DemoPicture<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_error)?;
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        let sub = |v: f64| (v - self.best_objective).max(SUBOPT_FLOOR).log10();
        let (_, x_hi) = padded_range(
            self.traces
                .iter()
                .flat_map(|(_, t)| t.iter().map(|(k, _)| (*k as f64).log10())),
        );
        let (y_lo, y_hi) = padded_range(
            self.traces
                .iter()
                .flat_map(|(_, t)| t.iter().map(|(_, v)| sub(*v))),
        );
        {
            let mut chart = ChartBuilder::on(&left)
                .caption("same budget, three solvers", ("sans-serif", 18))
                .margin(15)
                .margin_top(40)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(0.0..x_hi.max(0.1), y_lo..y_hi)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_desc("log10(iterations)")
                .y_desc("log10(objective - best)")
                .draw()
                .map_err(plot_error)?;
            for ((name, trace), rgb) in self.traces.iter().zip(RACE_RGB) {
                let color = RGBColor(rgb.0, rgb.1, rgb.2);
                chart
                    .draw_series(LineSeries::new(
                        trace.iter().map(|(k, v)| ((*k as f64).log10(), sub(*v))),
                        color.stroke_width(2),
                    ))
                    .map_err(plot_error)?
                    .label(name.clone())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE)
                .border_style(BLACK)
                .draw()
                .map_err(plot_error)?;
        }
        let errors = ErrorPicture {
            lambdas: self.lambdas,
            train: self.train,
            test: self.test,
        };
        errors.draw_marked(&right, Some(self.cv_lambda))?;
        root.present().map_err(plot_error)?;
        Ok(())
    }
}

/// A chart of mean squared error against log(lambda).
fn mse_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(20)
        .margin_top(50)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("log(lambda)")
        .y_desc("mean squared error")
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
}

/// A dashed vertical line at `lambda` across the y range.
fn mark_lambda<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    lambda: f64,
    (y_lo, y_hi): (f64, f64),
) -> Result<()> {
    let x = lambda.ln();
    chart
        .draw_series(DashedLineSeries::new(
            [(x, y_lo), (x, y_hi)],
            4,
            4,
            BLACK.stroke_width(1),
        ))
        .map_err(plot_error)?;
    Ok(())
}

/// The range of the values, widened by 5% on each side (and to a unit range when flat).
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
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
