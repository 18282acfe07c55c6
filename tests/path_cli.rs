//! `lariat path` through the real binary: grid, JSON, long CSV, plot, explicit lambdas.

#![allow(clippy::needless_range_loop)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{random_problem, temp_dir};

fn write_csv(dir: &Path, n: usize, p: usize) -> std::path::PathBuf {
    let (x, y) = random_problem(n, p, 17);
    let mut text = (0..p)
        .map(|j| format!("gene_{j}"))
        .collect::<Vec<_>>()
        .join(",");
    text.push_str(",response\n");
    for i in 0..n {
        let row: Vec<String> = (0..p).map(|j| format!("{}", x.col(j)[i])).collect();
        text.push_str(&format!("{},{}\n", row.join(","), y[i]));
    }
    let path = dir.join("data.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// `lariat path --x data --target response ARGS`.
fn lariat_path(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lariat"))
        .args([
            "path",
            "--x",
            data.to_str().unwrap(),
            "--target",
            "response",
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn path_writes_json_csv_and_plot() {
    let dir = temp_dir("path-cli");
    let data = write_csv(&dir, 30, 40);
    let (json, csv, svg) = (
        dir.join("path.json"),
        dir.join("path.csv"),
        dir.join("path.svg"),
    );
    let o = lariat_path(
        &data,
        &[
            "--n-lambdas",
            "25",
            "--out",
            json.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
            "--plot",
            svg.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    // Piped stderr: no progress bar.
    assert!(!stderr.contains("lambdas,"), "{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("R^2") && stdout.contains("non-zeros"),
        "{stdout}"
    );

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let lambdas: Vec<f64> = v["lambdas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let fits = v["fits"].as_array().unwrap();
    assert_eq!(lambdas.len(), 25);
    assert_eq!(fits.len(), 25);
    assert!(lambdas.windows(2).all(|w| w[1] < w[0]));
    // glmnet's default for n <= p: lambda_min = 0.01 lambda_max.
    assert!((lambdas[24] / lambdas[0] - 0.01).abs() < 1e-12);
    for (f, l) in fits.iter().zip(&lambdas) {
        assert_eq!(f["lambda"].as_f64().unwrap(), *l);
        assert_eq!(f["converged"], true);
    }
    assert!(fits[0]["coef"]["indices"].as_array().unwrap().is_empty());

    // Long CSV: one row per non-zero coefficient of every fit.
    let total_nnz: usize = fits
        .iter()
        .map(|f| f["coef"]["indices"].as_array().unwrap().len())
        .sum();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("lambda,feature,value"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), total_nnz);
    assert!(rows
        .iter()
        .all(|r| r.split(',').nth(1).unwrap().starts_with("gene_")));

    // Plot: one curve per feature that is ever non-zero.
    let mut ever = std::collections::BTreeSet::new();
    for f in fits {
        for j in f["coef"]["indices"].as_array().unwrap() {
            ever.insert(j.as_u64().unwrap());
        }
    }
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<svg") || svg_text.contains("<svg"));
    // Curves are the 2-px polylines (axes and ticks are 1-px ones).
    let curves = svg_text
        .split("<polyline")
        .skip(1)
        .filter(|e| e.split('>').next().unwrap().contains("stroke-width=\"2\""))
        .count();
    assert_eq!(curves, ever.len());
    assert!(svg_text.contains("log(lambda)"));
}

#[test]
fn explicit_lambdas_and_plot_formats() {
    let dir = temp_dir("path-lambdas");
    let data = write_csv(&dir, 25, 10);
    let grid = dir.join("grid.txt");
    std::fs::write(&grid, "0.5\n0.2\n0.1\n").unwrap();
    let json = dir.join("p.json");
    let o = lariat_path(
        &data,
        &[
            "--quiet",
            "--lambdas",
            grid.to_str().unwrap(),
            "--out",
            json.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["lambdas"], serde_json::json!([0.5, 0.2, 0.1]));
    // A PNG: one curve per feature ever non-zero, each in its palette colour.
    let png = dir.join("p.png");
    let run_plot = |plot: &Path| {
        let out = json.to_str().unwrap();
        let plot = plot.to_str().unwrap();
        lariat_path(
            &data,
            &["--quiet", "--n-lambdas", "8", "--out", out, "--plot", plot],
        )
    };
    let o = run_plot(&png);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut ever = std::collections::BTreeSet::new();
    for f in v["fits"].as_array().unwrap() {
        for j in f["coef"]["indices"].as_array().unwrap() {
            ever.insert(j.as_u64().unwrap());
        }
    }
    assert!(ever.len() >= 2, "{ever:?}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut rgb).unwrap();
    assert_eq!((frame.width, frame.height), (900, 600));
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let pixels_of = |k: usize| {
        use plotters::style::{Color, Palette, Palette99};
        let c = Palette99::pick(k).to_rgba();
        rgb.chunks_exact(3)
            .filter(|px| (px[0], px[1], px[2]) == (c.0, c.1, c.2))
            .count()
    };
    for k in 0..ever.len() {
        assert!(pixels_of(k) >= 30, "curve {k} of {} is missing", ever.len());
    }
    for k in ever.len()..ever.len() + 3 {
        assert!(
            pixels_of(k) < 30,
            "colour {k} drawn, but only {} curves",
            ever.len()
        );
    }
    // Any other extension is refused before the solve (a usage error): nothing is written.
    std::fs::remove_file(&json).unwrap();
    let gif = dir.join("p.gif");
    let o = run_plot(&gif);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(".svg or .png"));
    assert!(!gif.exists() && !json.exists());
    // A bad value in the grid file is a data error named by its line.
    std::fs::write(&grid, "0.5\n-1\n").unwrap();
    let o = lariat_path(&data, &["--lambdas", grid.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains(":2:1: lambda -1 is not > 0"));
}
