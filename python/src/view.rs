//! A numpy array read in place: lariat's [`Design`] over a borrowed, strided 2-D view, so X is
//! never copied, whatever its order (C or Fortran) and type (f32 or f64).
//!
//! Fortran order (each column contiguous) is what the solvers want: every operation reads one
//! column. C order is read with a stride, except the full pass `X^T V`, which walks rows (each
//! one contiguous) so that a pass reads X in memory order.

use lariat::design::{Design, Element};
use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

/// An `n x p` numpy array held by reference while a fit runs.
pub struct NumpyView<'a, T: Element> {
    x: ArrayView2<'a, T>,
    /// All of X, column after column, when it is in Fortran order: column `j` is then a
    /// plain sub-slice, with no view to build in the solvers' innermost calls.
    fortran: Option<&'a [T]>,
}

impl<'a, T: Element> NumpyView<'a, T> {
    pub fn new(x: ArrayView2<'a, T>) -> Self {
        let fortran = x.reversed_axes().to_slice();
        NumpyView { x, fortran }
    }

    /// Column `j` as a slice when it is contiguous.
    #[inline]
    fn col_slice(&self, j: usize) -> Option<&[T]> {
        let n = self.x.nrows();
        match self.fortran {
            Some(all) => Some(&all[j * n..(j + 1) * n]),
            None => self.x.column(j).to_slice(),
        }
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

/// Runs `$body` with `$c` an iterator over column `$j`: a slice iterator when the column is
/// contiguous (so the loop vectorises, as over lariat's own dense storage), else ndarray's
/// strided one. The body is compiled once for each.
macro_rules! over_col {
    ($self:ident, $j:expr, |$c:ident| $body:expr) => {{
        match $self.col_slice($j) {
            Some(s) => {
                let $c = s.iter();
                $body
            }
            None => {
                let col = $self.x.column($j);
                let $c = col.iter();
                $body
            }
        }
    }};
}

impl<T: Element> Design for NumpyView<'_, T> {
    fn n_rows(&self) -> usize {
        self.x.nrows()
    }
    fn n_cols(&self) -> usize {
        self.x.ncols()
    }
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        self.col_dot_centered(j, v, 0.0, 0.0)
    }
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        over_col!(self, j, |c| for (vi, x) in v.iter_mut().zip(c) {
            *vi += a * x.to_f64();
        })
    }
    /// `(x_j - m)^T v`: centred before multiplying, so a large mean does not cancel digits.
    fn col_dot_centered(&self, j: usize, v: &[f64], m: f64, _vsum: f64) -> f64 {
        match self.col_slice(j) {
            Some(s) => lariat::design::dot_centered(s, v, m),
            None => {
                let col = self.x.column(j);
                col.iter().zip(v).map(|(a, b)| (a.to_f64() - m) * b).sum()
            }
        }
    }
    fn col_dot_block(
        &self,
        j: usize,
        vs: &lariat::design::RowBlock,
        m: f64,
        _vsums: &[f64],
        out: &mut [f64],
    ) {
        match self.col_slice(j) {
            Some(s) => lariat::design::dot_block(s, vs, m, out),
            None => {
                out.iter_mut().for_each(|o| *o = 0.0);
                for (i, x) in self.x.column(j).iter().enumerate() {
                    let row = vs.row(i);
                    let x = x.to_f64() - m;
                    out.iter_mut().zip(row).for_each(|(o, v)| *o += x * v);
                }
            }
        }
    }
    fn col_axpy_centered(&self, j: usize, a: f64, m: f64, v: &mut [f64]) {
        over_col!(self, j, |c| for (vi, x) in v.iter_mut().zip(c) {
            *vi += a * (x.to_f64() - m);
        })
    }
    fn col_axpy_centered_rows(&self, j: usize, a: f64, m: f64, rows: &[f64], v: &mut [f64]) {
        over_col!(
            self,
            j,
            |c| for ((vi, x), r) in v.iter_mut().zip(c).zip(rows) {
                *vi += a * (x.to_f64() - m) * r;
            }
        )
    }
    fn col_sum(&self, j: usize) -> f64 {
        over_col!(self, j, |c| c.map(|x| x.to_f64()).sum())
    }
    fn col_centered_sq_norm(&self, j: usize, m: f64) -> f64 {
        over_col!(self, j, |c| c
            .map(|x| (x.to_f64() - m) * (x.to_f64() - m))
            .sum())
    }
    fn write_col_f32(&self, j: usize, out: &mut [f32]) {
        over_col!(self, j, |c| for (o, x) in out.iter_mut().zip(c) {
            *o = x.to_f64() as f32;
        })
    }
    fn rmatvec(&self, v: &[f64], out: &mut [f64]) {
        if self.row_major() {
            self.rmatmat_by_rows(&[v], &mut [out]);
        } else {
            lariat::design::for_each_column_block(self.n_cols(), &mut [out], |j, vals| {
                vals[0] = self.col_dot(j, v)
            });
        }
    }
    fn rmatmat(&self, vs: &[&[f64]], outs: &mut [&mut [f64]]) {
        if self.row_major() {
            self.rmatmat_by_rows(vs, outs);
        } else {
            let rows = lariat::design::RowBlock::new(vs);
            let zeros = vec![0.0; vs.len()];
            lariat::design::for_each_column_block(self.n_cols(), outs, |j, vals| {
                self.col_dot_block(j, &rows, 0.0, &zeros, vals)
            });
        }
    }
    fn stored_entries(&self) -> usize {
        self.x.len()
    }
    fn describe(&self) -> String {
        let order = if self.row_major() {
            "C order"
        } else if self.fortran.is_some() {
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
