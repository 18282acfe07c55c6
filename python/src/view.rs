//! A numpy array read in place: lariat's [`Design`] over a borrowed, strided 2-D view, so X is
//! never copied, whatever its order (C or Fortran) and type (f32 or f64).
//!
//! Fortran order (each column contiguous) is what the solvers want: every operation reads one
//! column. C order is read with a stride, except the full pass `X^T V`, which walks rows (each
//! one contiguous) so that a pass reads X in memory order.

use lariat::design::{Design, Element};
use ndarray::{ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

/// An `n x p` numpy array held by reference while a fit runs.
pub struct NumpyView<'a, T: Element> {
    x: ArrayView2<'a, T>,
}

impl<'a, T: Element> NumpyView<'a, T> {
    pub fn new(x: ArrayView2<'a, T>) -> Self {
        NumpyView { x }
    }

    /// The first non-finite entry as (row, column, value): lariat refuses NaN and infinity
    /// at the boundary, since one of them turns every coefficient into NaN.
    pub fn first_non_finite(&self) -> Option<(usize, usize, f64)> {
        (0..self.x.ncols())
            .into_par_iter()
            .find_first(|&j| self.x.column(j).iter().any(|v| !v.to_f64().is_finite()))
            .map(|j| {
                let col = self.x.column(j);
                let i = col
                    .iter()
                    .position(|v| !v.to_f64().is_finite())
                    .expect("the column has one");
                (i, j, col[i].to_f64())
            })
    }

    /// Whether each row is contiguous (C order) and a column is not.
    fn row_major(&self) -> bool {
        self.x.ncols() > 1 && self.x.strides()[1] == 1 && self.x.nrows() > 1
    }

    fn col(&self, j: usize) -> ArrayView1<'_, T> {
        self.x.column(j)
    }

    /// `X^T v` for each `v` walking the rows of a C-ordered X, a block of columns per task
    /// (the block's k outputs stay in cache while the rows stream by). Each output entry is
    /// the sequential sum over rows that [`Design::col_dot`] computes for a strided column.
    fn rmatmat_by_rows(&self, vs: &[&[f64]], outs: &mut [&mut [f64]]) {
        const BLOCK: usize = 512;
        if vs.is_empty() {
            return;
        }
        let p = self.x.ncols();
        let mut blocks: Vec<Vec<&mut [f64]>> = (0..p.div_ceil(BLOCK)).map(|_| Vec::new()).collect();
        for out in outs.iter_mut() {
            for (b, chunk) in out.chunks_mut(BLOCK).enumerate() {
                blocks[b].push(chunk);
            }
        }
        blocks.par_iter_mut().enumerate().for_each(|(b, chunks)| {
            let start = b * BLOCK;
            chunks
                .iter_mut()
                .for_each(|c| c.iter_mut().for_each(|o| *o = 0.0));
            for (i, row) in self.x.axis_iter(Axis(0)).enumerate() {
                let row = row.to_slice().expect("C order: rows are contiguous");
                let seg = &row[start..start + chunks[0].len()];
                for (chunk, v) in chunks.iter_mut().zip(vs) {
                    let vi = v[i];
                    for (o, x) in chunk.iter_mut().zip(seg) {
                        *o += x.to_f64() * vi;
                    }
                }
            }
        });
    }
}

/// Dot product with four accumulators (vectorised, fixed order), as lariat's dense storage.
#[inline]
fn dot_contiguous<T: Element>(x: &[T], v: &[f64], m: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let (xc, vc) = (x.chunks_exact(4), v.chunks_exact(4));
    let (xr, vr) = (xc.remainder(), vc.remainder());
    for (a, b) in xc.zip(vc) {
        acc[0] += (a[0].to_f64() - m) * b[0];
        acc[1] += (a[1].to_f64() - m) * b[1];
        acc[2] += (a[2].to_f64() - m) * b[2];
        acc[3] += (a[3].to_f64() - m) * b[3];
    }
    let tail: f64 = xr.iter().zip(vr).map(|(a, b)| (a.to_f64() - m) * b).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `(x - m)^T v`: centred before multiplying, so a large mean does not cancel digits.
#[inline]
fn dot_centred<T: Element>(x: ArrayView1<'_, T>, v: &[f64], m: f64) -> f64 {
    match x.as_slice() {
        Some(s) => dot_contiguous(s, v, m),
        None => x.iter().zip(v).map(|(a, b)| (a.to_f64() - m) * b).sum(),
    }
}

impl<T: Element> Design for NumpyView<'_, T> {
    fn n_rows(&self) -> usize {
        self.x.nrows()
    }
    fn n_cols(&self) -> usize {
        self.x.ncols()
    }
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        dot_centred(self.col(j), v, 0.0)
    }
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        for (vi, x) in v.iter_mut().zip(self.col(j)) {
            *vi += a * x.to_f64();
        }
    }
    fn col_dot_centered(&self, j: usize, v: &[f64], m: f64, _vsum: f64) -> f64 {
        dot_centred(self.col(j), v, m)
    }
    fn col_axpy_centered(&self, j: usize, a: f64, m: f64, v: &mut [f64]) {
        for (vi, x) in v.iter_mut().zip(self.col(j)) {
            *vi += a * (x.to_f64() - m);
        }
    }
    fn col_axpy_centered_rows(&self, j: usize, a: f64, m: f64, rows: &[f64], v: &mut [f64]) {
        for ((vi, x), r) in v.iter_mut().zip(self.col(j)).zip(rows) {
            *vi += a * (x.to_f64() - m) * r;
        }
    }
    fn col_sum(&self, j: usize) -> f64 {
        self.col(j).iter().map(|x| x.to_f64()).sum()
    }
    fn col_centered_sq_norm(&self, j: usize, m: f64) -> f64 {
        self.col(j)
            .iter()
            .map(|x| (x.to_f64() - m) * (x.to_f64() - m))
            .sum()
    }
    fn write_col_f32(&self, j: usize, out: &mut [f32]) {
        for (o, x) in out.iter_mut().zip(self.col(j)) {
            *o = x.to_f64() as f32;
        }
    }
    fn rmatvec(&self, v: &[f64], out: &mut [f64]) {
        if self.row_major() {
            self.rmatmat_by_rows(&[v], &mut [out]);
        } else {
            lariat::design::for_each_column_block(self.n_cols(), &mut [out], |j, _| {
                self.col_dot(j, v)
            });
        }
    }
    fn rmatmat(&self, vs: &[&[f64]], outs: &mut [&mut [f64]]) {
        if self.row_major() {
            self.rmatmat_by_rows(vs, outs);
        } else {
            lariat::design::for_each_column_block(self.n_cols(), outs, |j, c| {
                self.col_dot(j, vs[c])
            });
        }
    }
    fn stored_entries(&self) -> usize {
        self.x.len()
    }
    fn describe(&self) -> String {
        let order = if self.row_major() {
            "C order"
        } else if self.x.column(0).as_slice().is_some() {
            "Fortran order"
        } else {
            "strided"
        };
        format!(
            "numpy {} {}x{} ({order}, read in place)",
            T::NAME,
            self.x.nrows(),
            self.x.ncols()
        )
    }
}
