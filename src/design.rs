//! The matrix seam. Solvers see the design matrix only through [`Design`]: column dot
//! products and updates, `X w`, `X^T v`, column sums and norms. Storage (dense column-major,
//! f32 or f64, owned or memory-mapped; compressed sparse columns) lives behind it, so a new
//! format or storage never touches solver code.
//!
//! Centring and scaling are *not* applied here: [`crate::problem::Problem`] applies them
//! implicitly on top of these raw operations, so a sparse matrix stays sparse.

use rayon::prelude::*;

/// Raw (uncentred) operations on an `n x p` design matrix. All arithmetic is in f64, whatever
/// the storage type.
pub trait Design: Send + Sync {
    /// Number of rows (samples), `n`.
    fn n_rows(&self) -> usize;
    /// Number of columns (features), `p`.
    fn n_cols(&self) -> usize;
    /// `x_j^T v` for column `j`.
    fn col_dot(&self, j: usize, v: &[f64]) -> f64;
    /// `v += a x_j`.
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]);
    /// `(x_j - m 1)^T v`, the dot product with the column centred at `m`; `vsum = 1^T v`.
    /// Dense storage subtracts `m` before multiplying (no cancellation when the mean is large
    /// against the spread); sparse storage uses `vsum` and keeps the cost at O(nnz).
    fn col_dot_centered(&self, j: usize, v: &[f64], m: f64, vsum: f64) -> f64 {
        self.col_dot(j, v) - m * vsum
    }
    /// `v += a (x_j - m 1)`.
    fn col_axpy_centered(&self, j: usize, a: f64, m: f64, v: &mut [f64]) {
        self.col_axpy(j, a, v);
        let shift = a * m;
        if shift != 0.0 {
            v.iter_mut().for_each(|x| *x -= shift);
        }
    }
    /// `v += a (x_j - m 1)` on the rows where `rows` is 1, for a `v` that is zero on the other
    /// rows (and stays so): the update of a problem fitted on a subset of the rows.
    fn col_axpy_centered_rows(&self, j: usize, a: f64, m: f64, rows: &[f64], v: &mut [f64]) {
        self.col_axpy_centered(j, a, m, v);
        v.iter_mut().zip(rows).for_each(|(x, &r)| *x *= r);
    }
    /// `sum_i x_ij`.
    fn col_sum(&self, j: usize) -> f64;
    /// `sum_i (x_ij - m)^2`, computed without cancellation (two-pass style).
    fn col_centered_sq_norm(&self, j: usize, m: f64) -> f64;
    /// Writes column `j` as f32 into `out` (length n): the GPU's upload format.
    fn write_col_f32(&self, j: usize, out: &mut [f32]) {
        let mut tmp = vec![0.0f64; self.n_rows()];
        self.col_axpy(j, 1.0, &mut tmp);
        out.iter_mut().zip(&tmp).for_each(|(o, v)| *o = *v as f32);
    }
    /// Number of stored entries (n p for dense storage), used for memory and cost estimates.
    fn stored_entries(&self) -> usize;
    /// Short description for reports, e.g. "dense f32 (memory-mapped)".
    fn describe(&self) -> String;

    /// `out = X w`, reading only the columns where `w` is non-zero.
    fn matvec(&self, w: &[f64], out: &mut [f64]) {
        debug_assert_eq!(w.len(), self.n_cols());
        out.iter_mut().for_each(|o| *o = 0.0);
        for (j, &wj) in w.iter().enumerate() {
            if wj != 0.0 {
                self.col_axpy(j, wj, out);
            }
        }
    }

    /// `out = X^T v`. Columns are independent, so this runs in parallel and is still
    /// deterministic: every entry is one sequential dot product.
    fn rmatvec(&self, v: &[f64], out: &mut [f64]) {
        debug_assert_eq!(out.len(), self.n_cols());
        const CHUNK: usize = 256;
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (k, o) in chunk.iter_mut().enumerate() {
                    *o = self.col_dot(c * CHUNK + k, v);
                }
            });
    }

    /// `outs[c] = X^T vs[c]` for k vectors at once, reading each column of X once for all k
    /// (the column stays in cache while the k dot products run): the pass over X that k
    /// problems sharing X (CV folds, responses) pay once instead of k times.
    fn rmatmat(&self, vs: &[&[f64]], outs: &mut [&mut [f64]]) {
        for_each_column_block(self.n_cols(), outs, |j, c| self.col_dot(j, vs[c]));
    }

    /// `outs[c] = X ws[c]` for k coefficient vectors, reading each column once for all the
    /// vectors that use it.
    fn matmat(&self, ws: &[&[f64]], outs: &mut [&mut [f64]]) {
        debug_assert_eq!(ws.len(), outs.len());
        outs.iter_mut()
            .for_each(|o| o.iter_mut().for_each(|x| *x = 0.0));
        for j in 0..self.n_cols() {
            for (w, out) in ws.iter().zip(outs.iter_mut()) {
                if w[j] != 0.0 {
                    self.col_axpy(j, w[j], out);
                }
            }
        }
    }

    /// Column means.
    fn col_means(&self) -> Vec<f64> {
        let n = self.n_rows() as f64;
        (0..self.n_cols()).map(|j| self.col_sum(j) / n).collect()
    }
}

/// Fills `outs[c][j] = value(j, c)` for every column `j` and output `c`, in parallel over
/// blocks of columns with the k outputs of a column computed together (so whatever `value`
/// reads of column j is read once for all k). Deterministic: each entry is computed alone.
pub fn for_each_column_block(
    p: usize,
    outs: &mut [&mut [f64]],
    value: impl Fn(usize, usize) -> f64 + Sync,
) {
    const CHUNK: usize = 256;
    debug_assert!(outs.iter().all(|o| o.len() == p));
    // The outputs cut into the same column blocks, regrouped block by block.
    let mut blocks: Vec<Vec<&mut [f64]>> = (0..p.div_ceil(CHUNK)).map(|_| Vec::new()).collect();
    for out in outs.iter_mut() {
        for (b, chunk) in out.chunks_mut(CHUNK).enumerate() {
            blocks[b].push(chunk);
        }
    }
    blocks.par_iter_mut().enumerate().for_each(|(b, chunks)| {
        for i in 0..chunks.first().map_or(0, |c| c.len()) {
            let j = b * CHUNK + i;
            for (c, chunk) in chunks.iter_mut().enumerate() {
                chunk[i] = value(j, c);
            }
        }
    });
}

/// An element type the dense storage may hold. The GPU works in f32; the CPU promotes to f64.
pub trait Element: bytemuck::Pod + Send + Sync + 'static {
    const NAME: &'static str;
    fn to_f64(self) -> f64;
}

impl Element for f32 {
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Element for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

/// Where the numbers of a dense matrix live.
enum Storage<T: Element> {
    Owned(Vec<T>),
    /// A memory-mapped file and the byte offset of the first element (aligned for `T`).
    Mapped {
        map: memmap2::Mmap,
        offset: usize,
        len: usize,
    },
}

impl<T: Element> Storage<T> {
    fn as_slice(&self) -> &[T] {
        match self {
            Storage::Owned(v) => v,
            Storage::Mapped { map, offset, len } => {
                bytemuck::cast_slice(&map[*offset..*offset + len * std::mem::size_of::<T>()])
            }
        }
    }
}

/// Dense column-major matrix (column `j` is the contiguous slice `[j n, (j+1) n)`).
///
/// Column-major because every solver touches X one column at a time (coordinate descent, the
/// per-feature dot products of `X^T r`), and because a Fortran-ordered `.npy` can then be
/// memory-mapped as it is.
pub struct Dense<T: Element> {
    n: usize,
    p: usize,
    data: Storage<T>,
}

impl<T: Element> Dense<T> {
    /// Wraps column-major data; `data.len()` must be `n * p`.
    pub fn from_col_major(n: usize, p: usize, data: Vec<T>) -> Self {
        assert_eq!(data.len(), n * p, "dense data length must be n * p");
        Dense {
            n,
            p,
            data: Storage::Owned(data),
        }
    }

    /// Wraps a memory map holding `n * p` column-major elements starting at byte `offset`.
    /// The caller has checked the length and alignment.
    pub(crate) fn from_mapped(n: usize, p: usize, map: memmap2::Mmap, offset: usize) -> Self {
        assert!(offset + n * p * std::mem::size_of::<T>() <= map.len());
        assert_eq!(
            (map.as_ptr() as usize + offset) % std::mem::align_of::<T>(),
            0
        );
        Dense {
            n,
            p,
            data: Storage::Mapped {
                map,
                offset,
                len: n * p,
            },
        }
    }

    /// Column `j` as a slice.
    #[inline]
    pub fn col(&self, j: usize) -> &[T] {
        &self.data.as_slice()[j * self.n..(j + 1) * self.n]
    }

    /// All data, column-major.
    pub fn as_col_major(&self) -> &[T] {
        self.data.as_slice()
    }
}

impl Dense<f64> {
    /// Builds a dense f64 matrix from a row-major slice (convenient in tests and examples).
    pub fn from_row_major(n: usize, p: usize, rows: &[f64]) -> Self {
        assert_eq!(rows.len(), n * p);
        let mut data = vec![0.0; n * p];
        for i in 0..n {
            for j in 0..p {
                data[j * n + i] = rows[i * p + j];
            }
        }
        Self::from_col_major(n, p, data)
    }
}

/// Dot product with four independent accumulators: lets the compiler vectorise, and the
/// summation order is fixed, so results are reproducible bit for bit.
#[inline]
fn dot<T: Element>(x: &[T], v: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let xc = x.chunks_exact(4);
    let vc = v.chunks_exact(4);
    let (xr, vr) = (xc.remainder(), vc.remainder());
    for (a, b) in xc.zip(vc) {
        acc[0] += a[0].to_f64() * b[0];
        acc[1] += a[1].to_f64() * b[1];
        acc[2] += a[2].to_f64() * b[2];
        acc[3] += a[3].to_f64() * b[3];
    }
    let mut tail = 0.0;
    for (a, b) in xr.iter().zip(vr) {
        tail += a.to_f64() * b;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

impl<T: Element> Design for Dense<T> {
    fn n_rows(&self) -> usize {
        self.n
    }
    fn n_cols(&self) -> usize {
        self.p
    }
    #[inline]
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        dot(self.col(j), v)
    }
    #[inline]
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        for (vi, x) in v.iter_mut().zip(self.col(j)) {
            *vi += a * x.to_f64();
        }
    }
    #[inline]
    fn col_dot_centered(&self, j: usize, v: &[f64], m: f64, _vsum: f64) -> f64 {
        if m == 0.0 {
            return dot(self.col(j), v);
        }
        let mut acc = [0.0f64; 4];
        let (xc, vc) = (self.col(j).chunks_exact(4), v.chunks_exact(4));
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
    #[inline]
    fn col_axpy_centered(&self, j: usize, a: f64, m: f64, v: &mut [f64]) {
        for (vi, x) in v.iter_mut().zip(self.col(j)) {
            *vi += a * (x.to_f64() - m);
        }
    }
    #[inline]
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
            .map(|x| {
                let d = x.to_f64() - m;
                d * d
            })
            .sum()
    }
    fn write_col_f32(&self, j: usize, out: &mut [f32]) {
        out.iter_mut()
            .zip(self.col(j))
            .for_each(|(o, v)| *o = v.to_f64() as f32);
    }
    fn stored_entries(&self) -> usize {
        self.n * self.p
    }
    fn describe(&self) -> String {
        let how = match self.data {
            Storage::Owned(_) => "in memory",
            Storage::Mapped { .. } => "memory-mapped",
        };
        format!("dense {} {}x{} ({how})", T::NAME, self.n, self.p)
    }
}

/// Compressed sparse columns, f64 values. Explicit zeros are allowed and harmless.
pub struct Csc {
    n: usize,
    p: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
}

impl Csc {
    /// Builds from CSC arrays; row indices within each column must be strictly increasing.
    pub fn new(
        n: usize,
        p: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f64>,
    ) -> Self {
        assert_eq!(indptr.len(), p + 1);
        assert_eq!(indices.len(), values.len());
        assert_eq!(*indptr.last().unwrap(), indices.len());
        debug_assert!(indices.iter().all(|&i| (i as usize) < n));
        Csc {
            n,
            p,
            indptr,
            indices,
            values,
        }
    }

    /// Builds from (row, col, value) triplets in any order; duplicates are summed.
    pub fn from_triplets(n: usize, p: usize, mut trip: Vec<(u32, u32, f64)>) -> Self {
        trip.sort_unstable_by_key(|&(i, j, _)| (j, i));
        let mut indptr = vec![0usize; p + 1];
        let mut indices = Vec::with_capacity(trip.len());
        let mut values: Vec<f64> = Vec::with_capacity(trip.len());
        let mut last: Option<(u32, u32)> = None;
        for (i, j, v) in trip {
            if last == Some((i, j)) {
                *values.last_mut().unwrap() += v;
                continue;
            }
            last = Some((i, j));
            indices.push(i);
            values.push(v);
            indptr[j as usize + 1] += 1;
        }
        for j in 0..p {
            indptr[j + 1] += indptr[j];
        }
        Self::new(n, p, indptr, indices, values)
    }

    #[inline]
    fn col(&self, j: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.indptr[j], self.indptr[j + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }
}

impl Design for Csc {
    fn n_rows(&self) -> usize {
        self.n
    }
    fn n_cols(&self) -> usize {
        self.p
    }
    #[inline]
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        let (idx, val) = self.col(j);
        idx.iter().zip(val).map(|(&i, &x)| x * v[i as usize]).sum()
    }
    #[inline]
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        let (idx, val) = self.col(j);
        for (&i, &x) in idx.iter().zip(val) {
            v[i as usize] += a * x;
        }
    }
    fn col_sum(&self, j: usize) -> f64 {
        self.col(j).1.iter().sum()
    }
    fn col_centered_sq_norm(&self, j: usize, m: f64) -> f64 {
        let (_, val) = self.col(j);
        let stored: f64 = val.iter().map(|x| (x - m) * (x - m)).sum();
        stored + (self.n - val.len()) as f64 * m * m
    }
    fn stored_entries(&self) -> usize {
        self.values.len()
    }
    fn describe(&self) -> String {
        format!(
            "sparse CSC {}x{} ({} non-zeros)",
            self.n,
            self.p,
            self.values.len()
        )
    }
}

/// A view of some columns of another design, in the order given: the working set of a
/// solver, gathered once for a compact upload. Every operation delegates.
pub struct Columns<'a> {
    inner: &'a dyn Design,
    cols: Vec<usize>,
}

impl<'a> Columns<'a> {
    /// The columns `cols` (each < `inner.n_cols()`) of `inner`.
    pub fn new(inner: &'a dyn Design, cols: Vec<usize>) -> Self {
        debug_assert!(cols.iter().all(|&j| j < inner.n_cols()));
        Columns { inner, cols }
    }
}

impl Design for Columns<'_> {
    fn n_rows(&self) -> usize {
        self.inner.n_rows()
    }
    fn n_cols(&self) -> usize {
        self.cols.len()
    }
    fn col_dot(&self, j: usize, v: &[f64]) -> f64 {
        self.inner.col_dot(self.cols[j], v)
    }
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        self.inner.col_axpy(self.cols[j], a, v)
    }
    fn col_dot_centered(&self, j: usize, v: &[f64], m: f64, vsum: f64) -> f64 {
        self.inner.col_dot_centered(self.cols[j], v, m, vsum)
    }
    fn col_axpy_centered(&self, j: usize, a: f64, m: f64, v: &mut [f64]) {
        self.inner.col_axpy_centered(self.cols[j], a, m, v)
    }
    fn col_axpy_centered_rows(&self, j: usize, a: f64, m: f64, rows: &[f64], v: &mut [f64]) {
        self.inner
            .col_axpy_centered_rows(self.cols[j], a, m, rows, v)
    }
    fn col_sum(&self, j: usize) -> f64 {
        self.inner.col_sum(self.cols[j])
    }
    fn col_centered_sq_norm(&self, j: usize, m: f64) -> f64 {
        self.inner.col_centered_sq_norm(self.cols[j], m)
    }
    fn write_col_f32(&self, j: usize, out: &mut [f32]) {
        self.inner.write_col_f32(self.cols[j], out)
    }
    fn stored_entries(&self) -> usize {
        let p = self.inner.n_cols().max(1);
        self.inner.stored_entries() / p * self.cols.len()
    }
    fn describe(&self) -> String {
        format!("{} columns of {}", self.cols.len(), self.inner.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_agree() {
        let rows = [1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 4.0, 5.0, 0.0];
        let d = Dense::from_row_major(3, 3, &rows);
        let trip = vec![
            (0, 0, 1.0),
            (0, 2, 2.0),
            (1, 1, 3.0),
            (2, 0, 4.0),
            (2, 1, 5.0),
        ];
        let s = Csc::from_triplets(3, 3, trip);
        let v = [1.0, -2.0, 0.5];
        let (mut a, mut b) = (vec![0.0; 3], vec![0.0; 3]);
        d.rmatvec(&v, &mut a);
        s.rmatvec(&v, &mut b);
        assert_eq!(a, vec![3.0, -3.5, 2.0]);
        assert_eq!(a, b);
        d.matvec(&v, &mut a);
        s.matvec(&v, &mut b);
        assert_eq!(a, vec![2.0, -6.0, -6.0]);
        assert_eq!(a, b);
        for j in 0..3 {
            let m = d.col_sum(j) / 3.0;
            assert!((d.col_centered_sq_norm(j, m) - s.col_centered_sq_norm(j, m)).abs() < 1e-12);
        }
    }
}
