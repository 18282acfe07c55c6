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
    /// `v += a (x_j - m 1)` (on `rows` only, when given), then `(x_k - mk 1)^T v` with
    /// `1^T v` taken as 0 (a residual of a centred problem): coordinate descent's update and
    /// the next coordinate's product, which dense storage does in one pass over `v`.
    fn col_axpy_then_dot(
        &self,
        (j, a, m): (usize, f64, f64),
        rows: Option<&[f64]>,
        (k, mk): (usize, f64),
        v: &mut [f64],
    ) -> f64 {
        match rows {
            None => self.col_axpy_centered(j, a, m, v),
            Some(rows) => self.col_axpy_centered_rows(j, a, m, rows, v),
        }
        self.col_dot_centered(k, v, mk, 0.0)
    }
    /// `out[c] = (x_j - m 1)^T v_c` for the k = `out.len()` vectors of `vs` (`vsums[c] =
    /// 1^T v_c`): the k products of [`Design::col_dot_centered`] with column j read once for
    /// all of them, the pass over X that k problems sharing X (CV folds, responses) pay once.
    fn col_dot_block(&self, j: usize, vs: &RowBlock, m: f64, vsums: &[f64], out: &mut [f64]) {
        let mut v = vec![0.0; self.n_rows()];
        for (c, o) in out.iter_mut().enumerate() {
            v.iter_mut().zip(vs.column(c)).for_each(|(x, y)| *x = y);
            *o = self.col_dot_centered(j, &v, m, vsums[c]);
        }
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
        let block = RowBlock::new(vs);
        let zeros = vec![0.0; vs.len()];
        for_each_column_block(self.n_cols(), outs, |j, vals| {
            self.col_dot_block(j, &block, 0.0, &zeros, vals)
        });
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

/// Fills `outs[c][j]` for every column `j` and output `c`, in parallel over blocks of
/// columns: `fill(j, vals)` writes the k values of column j together (so whatever it reads of
/// column j is read once for all k). Deterministic: each column is computed alone.
pub fn for_each_column_block(
    p: usize,
    outs: &mut [&mut [f64]],
    fill: impl Fn(usize, &mut [f64]) + Sync,
) {
    for_each_column_chunk(p, outs, |j0, chunks| {
        let mut vals = vec![0.0; chunks.len()];
        for i in 0..chunks.first().map_or(0, |c| c.len()) {
            fill(j0 + i, &mut vals);
            for (chunk, &v) in chunks.iter_mut().zip(&vals) {
                chunk[i] = v;
            }
        }
    });
}

/// The outputs cut into the same blocks of consecutive columns, handed out in parallel:
/// `fill(j0, chunks)` gets `chunks[c] = outs[c][j0 .. j0 + len]`.
pub fn for_each_column_chunk(
    p: usize,
    outs: &mut [&mut [f64]],
    fill: impl Fn(usize, &mut [&mut [f64]]) + Sync,
) {
    const CHUNK: usize = 256;
    debug_assert!(outs.iter().all(|o| o.len() == p));
    let mut blocks: Vec<Vec<&mut [f64]>> = (0..p.div_ceil(CHUNK)).map(|_| Vec::new()).collect();
    for out in outs.iter_mut() {
        for (b, chunk) in out.chunks_mut(CHUNK).enumerate() {
            blocks[b].push(chunk);
        }
    }
    blocks
        .par_iter_mut()
        .enumerate()
        .for_each(|(b, chunks)| fill(b * CHUNK, chunks));
}

/// k vectors of length n stored row by row (`rows[i * stride + c]` is entry i of vector c,
/// zero for `k <= c < stride`): the layout of [`Design::col_dot_block`], where one entry of a
/// column meets all k at once. The padding to `stride` lets every product run in full-width
/// register groups.
pub struct RowBlock {
    k: usize,
    stride: usize,
    rows: Vec<f64>,
}

impl RowBlock {
    pub fn new(vs: &[&[f64]]) -> Self {
        let k = vs.len();
        let n = vs.first().map_or(0, |v| v.len());
        let stride = match k {
            0..=4 => 4,
            5..=8 => 8,
            _ => k.div_ceil(16) * 16,
        };
        let mut rows = vec![0.0; n * stride];
        for (c, v) in vs.iter().enumerate() {
            assert_eq!(v.len(), n, "vectors of one length");
            for (i, &x) in v.iter().enumerate() {
                rows[i * stride + c] = x;
            }
        }
        RowBlock { k, stride, rows }
    }
    /// How many vectors.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Row i: the k entries `v_c[i]`, then the padding.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.stride..(i + 1) * self.stride]
    }
    /// Vector c, entry by entry.
    pub fn column(&self, c: usize) -> impl Iterator<Item = f64> + '_ {
        self.rows.iter().skip(c).step_by(self.stride).copied()
    }
}

/// `pub fn $name`: the `#[inline(always)]` kernel `$portable`, run from a copy compiled for
/// AVX2 where the CPU has it (twice the lanes of the x86-64 baseline, SSE2, that the binary
/// targets), else as it is. The kernels use no fused multiply-add, so both copies make the
/// same operations in the same order: the same numbers on every CPU.
macro_rules! avx2_where_present {
    ($(#[$doc:meta])* pub fn $name:ident<T>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $portable:ident) => {
        $(#[$doc])*
        #[inline]
        pub fn $name<T: Element>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2<T: Element>($($arg: $ty),*) $(-> $ret)? {
                    $portable($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has just been found to support AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $portable($($arg),*)
        }
    };
}

avx2_where_present! {
    /// `out[c] = sum_i (x_i - m) v_c[i]` for the k = `out.len()` vectors of `block`: the k dot
    /// products of one column (in L1 while they run). Each is summed in a fixed order, in
    /// register groups of outputs across which the column streams once per group.
    pub fn dot_block<T>(x: &[T], block: &RowBlock, m: f64, out: &mut [f64]) => dot_block_portable
}

#[inline(always)]
fn dot_block_portable<T: Element>(x: &[T], block: &RowBlock, m: f64, out: &mut [f64]) {
    debug_assert_eq!(out.len(), block.k);
    debug_assert_eq!(block.rows.len(), x.len() * block.stride);
    let mut c0 = 0;
    while c0 < block.k {
        let n_out = (block.k - c0).min(16);
        let rows = (block.rows.as_slice(), block.stride, c0);
        match block.stride {
            4 => dot_group2::<T, 4>(x, rows, m, &mut out[c0..c0 + n_out]),
            8 => dot_group2::<T, 8>(x, rows, m, &mut out[c0..c0 + n_out]),
            _ => dot_group::<T, 16>(x, rows, m, &mut out[c0..c0 + n_out]),
        }
        c0 += 16;
    }
}

/// Outputs `c0 .. c0 + W` of [`dot_block`] (those of them in `out`), one accumulator each:
/// W = 16 fills the vector registers.
#[inline(always)]
fn dot_group<T: Element, const W: usize>(
    x: &[T],
    (rows, stride, c0): (&[f64], usize, usize),
    m: f64,
    out: &mut [f64],
) {
    let mut acc = [0.0f64; W];
    for (xi, row) in x.iter().zip(rows.chunks_exact(stride)) {
        let xi = xi.to_f64() - m;
        let row: &[f64; W] = row[c0..c0 + W].try_into().expect("W outputs");
        for t in 0..W {
            acc[t] += xi * row[t];
        }
    }
    out.copy_from_slice(&acc[..out.len()]);
}

/// [`dot_group`] for narrow groups, with two accumulators per output (even and odd rows) so
/// that additions do not wait on each other.
#[inline(always)]
fn dot_group2<T: Element, const W: usize>(
    x: &[T],
    (rows, stride, c0): (&[f64], usize, usize),
    m: f64,
    out: &mut [f64],
) {
    let (mut even, mut odd) = ([0.0f64; W], [0.0f64; W]);
    let mut pairs = x.chunks_exact(2).zip(rows.chunks_exact(2 * stride));
    for (xs, rs) in &mut pairs {
        let (x0, x1) = (xs[0].to_f64() - m, xs[1].to_f64() - m);
        let r0: &[f64; W] = rs[c0..c0 + W].try_into().expect("W outputs");
        let r1: &[f64; W] = rs[stride + c0..stride + c0 + W]
            .try_into()
            .expect("W outputs");
        for t in 0..W {
            even[t] += x0 * r0[t];
            odd[t] += x1 * r1[t];
        }
    }
    if x.len() % 2 == 1 {
        let i = x.len() - 1;
        let xi = x[i].to_f64() - m;
        for t in 0..W {
            even[t] += xi * rows[i * stride + c0 + t];
        }
    }
    for (o, (e, d)) in out.iter_mut().zip(even.iter().zip(&odd)) {
        *o = e + d;
    }
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

avx2_where_present! {
    /// `sum_i (x_i - m) v_i`, centred before multiplying (a large mean does not cancel
    /// digits), with eight independent accumulators in a fixed order: vectorised, and
    /// reproducible bit for bit on every CPU.
    pub fn dot_centered<T>(x: &[T], v: &[f64], m: f64) -> f64 => dot_centered_portable
}

#[inline(always)]
fn dot_centered_portable<T: Element>(x: &[T], v: &[f64], m: f64) -> f64 {
    debug_assert_eq!(x.len(), v.len());
    let mut acc = [0.0f64; 8];
    let (xc, vc) = (x.chunks_exact(8), v.chunks_exact(8));
    let (xr, vr) = (xc.remainder(), vc.remainder());
    for (a, b) in xc.zip(vc) {
        for t in 0..8 {
            acc[t] += (a[t].to_f64() - m) * b[t];
        }
    }
    // The remainder (under 8) into the first accumulators, in order.
    for (t, (a, b)) in xr.iter().zip(vr).enumerate() {
        acc[t] += (a.to_f64() - m) * b;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

avx2_where_present! {
    /// `v += a (x - m 1)`, and with `rows` only where `rows` is 1 (`v` zero elsewhere stays
    /// so): the update of coordinate descent, element by element.
    pub fn axpy_centered<T>(x: &[T], a: f64, m: f64, rows: Option<&[f64]>, v: &mut [f64])
        => axpy_centered_portable
}

#[inline(always)]
fn axpy_centered_portable<T: Element>(
    x: &[T],
    a: f64,
    m: f64,
    rows: Option<&[f64]>,
    v: &mut [f64],
) {
    match rows {
        None => {
            for (vi, x) in v.iter_mut().zip(x) {
                *vi += a * (x.to_f64() - m);
            }
        }
        Some(rows) => {
            for ((vi, x), r) in v.iter_mut().zip(x).zip(rows) {
                *vi += a * (x.to_f64() - m) * r;
            }
        }
    }
}

avx2_where_present! {
    /// [`axpy_centered`]`(x, a, m, rows, v)`, then [`dot_centered`]`(y, v, my)`, in one pass
    /// over `v`: coordinate descent's update of one coordinate and the product of the next,
    /// the same operations in the same order as the two kernels one after the other (so the
    /// same numbers).
    pub fn axpy_then_dot<T>(
        xam: (&[T], f64, f64),
        rows: Option<&[f64]>,
        ym: (&[T], f64),
        v: &mut [f64],
    ) -> f64 => axpy_then_dot_portable
}

#[inline(always)]
fn axpy_then_dot_portable<T: Element>(
    (x, a, m): (&[T], f64, f64),
    rows: Option<&[f64]>,
    (y, my): (&[T], f64),
    v: &mut [f64],
) -> f64 {
    debug_assert!(x.len() == v.len() && y.len() == v.len());
    let mut acc = [0.0f64; 8];
    let full = v.len() / 8 * 8;
    let (vh, vt) = v.split_at_mut(full);
    let (xh, xt) = x.split_at(full);
    let (yh, yt) = y.split_at(full);
    match rows {
        None => {
            for ((vc, xc), yc) in vh
                .chunks_exact_mut(8)
                .zip(xh.chunks_exact(8))
                .zip(yh.chunks_exact(8))
            {
                update_then_terms(vc, (xc, a, m), (yc, my), None, &mut acc);
            }
            update_then_terms(vt, (xt, a, m), (yt, my), None, &mut acc);
        }
        Some(rows) => {
            let (rh, rt) = rows.split_at(full);
            for (((vc, xc), yc), rc) in vh
                .chunks_exact_mut(8)
                .zip(xh.chunks_exact(8))
                .zip(yh.chunks_exact(8))
                .zip(rh.chunks_exact(8))
            {
                update_then_terms(vc, (xc, a, m), (yc, my), Some(rc), &mut acc);
            }
            update_then_terms(vt, (xt, a, m), (yt, my), Some(rt), &mut acc);
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// Up to eight rows of [`axpy_then_dot_portable`]: their update (as `axpy_centered_portable`
/// makes it), then their terms of the product, into the accumulators `dot_centered_portable`
/// uses. A function, not a closure, so that it is compiled with its caller's target features.
#[inline(always)]
fn update_then_terms<T: Element>(
    v: &mut [f64],
    (x, a, m): (&[T], f64, f64),
    (y, my): (&[T], f64),
    rows: Option<&[f64]>,
    acc: &mut [f64; 8],
) {
    match rows {
        None => v
            .iter_mut()
            .zip(x)
            .for_each(|(vi, x)| *vi += a * (x.to_f64() - m)),
        Some(rows) => v
            .iter_mut()
            .zip(x)
            .zip(rows)
            .for_each(|((vi, x), r)| *vi += a * (x.to_f64() - m) * r),
    }
    for (t, (vi, y)) in v.iter().zip(y).enumerate() {
        acc[t] += (y.to_f64() - my) * vi;
    }
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
        dot_centered(self.col(j), v, 0.0)
    }
    #[inline]
    fn col_axpy(&self, j: usize, a: f64, v: &mut [f64]) {
        for (vi, x) in v.iter_mut().zip(self.col(j)) {
            *vi += a * x.to_f64();
        }
    }
    #[inline]
    fn col_dot_centered(&self, j: usize, v: &[f64], m: f64, _vsum: f64) -> f64 {
        dot_centered(self.col(j), v, m)
    }
    #[inline]
    fn col_axpy_centered(&self, j: usize, a: f64, m: f64, v: &mut [f64]) {
        axpy_centered(self.col(j), a, m, None, v)
    }
    #[inline]
    fn col_axpy_centered_rows(&self, j: usize, a: f64, m: f64, rows: &[f64], v: &mut [f64]) {
        axpy_centered(self.col(j), a, m, Some(rows), v)
    }
    fn col_axpy_then_dot(
        &self,
        (j, a, m): (usize, f64, f64),
        rows: Option<&[f64]>,
        (k, mk): (usize, f64),
        v: &mut [f64],
    ) -> f64 {
        axpy_then_dot((self.col(j), a, m), rows, (self.col(k), mk), v)
    }
    fn col_dot_block(&self, j: usize, vs: &RowBlock, m: f64, _vsums: &[f64], out: &mut [f64]) {
        dot_block(self.col(j), vs, m, out)
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
    fn col_dot_block(&self, j: usize, vs: &RowBlock, m: f64, vsums: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let (idx, val) = self.col(j);
        for (&i, &x) in idx.iter().zip(val) {
            let row = vs.row(i as usize);
            out.iter_mut().zip(row).for_each(|(o, v)| *o += x * v);
        }
        // The implicit zeros, centred, contribute `-m 1^T v`.
        out.iter_mut().zip(vsums).for_each(|(o, s)| *o -= m * s);
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
    fn col_axpy_then_dot(
        &self,
        (j, a, m): (usize, f64, f64),
        rows: Option<&[f64]>,
        (k, mk): (usize, f64),
        v: &mut [f64],
    ) -> f64 {
        self.inner
            .col_axpy_then_dot((self.cols[j], a, m), rows, (self.cols[k], mk), v)
    }
    fn col_dot_block(&self, j: usize, vs: &RowBlock, m: f64, vsums: &[f64], out: &mut [f64]) {
        self.inner.col_dot_block(self.cols[j], vs, m, vsums, out)
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

    /// The kernels built for AVX2 make the same numbers as the baseline build, bit for bit:
    /// results do not depend on the CPU.
    #[test]
    fn vector_builds_agree_bit_for_bit() {
        let val = |i: usize| ((i * 7919 % 1013) as f64 - 506.0) / 97.0 + 1e3 * (i % 3) as f64;
        for n in [1usize, 3, 8, 9, 60, 61, 500] {
            let x: Vec<f64> = (0..n).map(val).collect();
            let v: Vec<f64> = (0..n).map(|i| val(i + 17) * 1e-3).collect();
            let rows: Vec<f64> = (0..n).map(|i| (i % 4 != 0) as u8 as f64).collect();
            let m = 333.25;
            assert_eq!(
                dot_centered(&x, &v, m).to_bits(),
                dot_centered_portable(&x, &v, m).to_bits()
            );
            for mask in [None, Some(rows.as_slice())] {
                let (mut a, mut b) = (v.clone(), v.clone());
                axpy_centered(&x, 0.37, m, mask, &mut a);
                axpy_centered_portable(&x, 0.37, m, mask, &mut b);
                assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
                // The fused update-and-product is the two kernels one after the other.
                let y: Vec<f64> = (0..n).map(|i| val(i + 5)).collect();
                let (mut c, mut d) = (v.clone(), v.clone());
                let fused = axpy_then_dot((&x, 0.37, m), mask, (&y, 2.5), &mut c);
                let portable = axpy_then_dot_portable((&x, 0.37, m), mask, (&y, 2.5), &mut d);
                let two = dot_centered(&y, &a, 2.5);
                assert_eq!(fused.to_bits(), two.to_bits(), "n {n}");
                assert_eq!(portable.to_bits(), two.to_bits(), "n {n}");
                assert!(c.iter().zip(&a).all(|(p, q)| p.to_bits() == q.to_bits()));
                assert!(d.iter().zip(&a).all(|(p, q)| p.to_bits() == q.to_bits()));
            }
            for k in [1usize, 3, 5, 8, 11, 16, 33] {
                let vs: Vec<Vec<f64>> = (0..k)
                    .map(|c| (0..n).map(|i| val(i * (c + 2))).collect())
                    .collect();
                let refs: Vec<&[f64]> = vs.iter().map(|v| v.as_slice()).collect();
                let block = RowBlock::new(&refs);
                let (mut a, mut b) = (vec![0.0; k], vec![0.0; k]);
                dot_block(&x, &block, m, &mut a);
                dot_block_portable(&x, &block, m, &mut b);
                assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
            }
        }
    }

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
