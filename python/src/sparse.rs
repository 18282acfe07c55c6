//! `scipy.sparse` input: the CSC arrays checked and copied into lariat's [`Csc`] (row indices
//! as u32, values as f64), so a malformed matrix is a `ValueError`, never a panic.

use lariat::design::Csc;

/// Builds an `n x p` [`Csc`] from scipy's `indptr`, `indices` and `data` (canonical format:
/// sorted row indices, no duplicates), naming the first thing that is wrong.
pub fn csc_from_parts(
    n: usize,
    p: usize,
    indptr: &[i64],
    indices: &[i64],
    data: Vec<f64>,
) -> Result<Csc, String> {
    if indptr.len() != p + 1 {
        return Err(format!(
            "sparse X: indptr has {} entries for {p} columns (expected {})",
            indptr.len(),
            p + 1
        ));
    }
    if indices.len() != data.len() {
        return Err(format!(
            "sparse X: {} row indices for {} values",
            indices.len(),
            data.len()
        ));
    }
    if n > u32::MAX as usize {
        return Err(format!(
            "sparse X: {n} rows is more than lariat's sparse storage holds ({})",
            u32::MAX
        ));
    }
    if indptr[0] != 0 || indptr[p] as usize != indices.len() {
        return Err(format!(
            "sparse X: indptr runs from {} to {}, expected 0 to {}",
            indptr[0],
            indptr[p],
            indices.len()
        ));
    }
    let mut rows = Vec::with_capacity(indices.len());
    for j in 0..p {
        let (a, b) = (indptr[j], indptr[j + 1]);
        if b < a {
            return Err(format!("sparse X: indptr decreases at column {j}"));
        }
        let mut last: i64 = -1;
        for &i in &indices[a as usize..b as usize] {
            if i < 0 || i as usize >= n {
                return Err(format!(
                    "sparse X: row index {i} in column {j} is outside 0..{n}"
                ));
            }
            if i <= last {
                return Err(format!(
                    "sparse X: row indices of column {j} are not strictly increasing \
                     (call sum_duplicates() and sort_indices())"
                ));
            }
            last = i;
            rows.push(i as u32);
        }
    }
    if let Some(k) = data.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "sparse X: non-finite value {} at stored entry {k}",
            data[k]
        ));
    }
    let indptr = indptr.iter().map(|&v| v as usize).collect();
    Ok(Csc::new(n, p, indptr, rows, data))
}
