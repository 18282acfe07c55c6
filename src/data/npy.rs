//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), little-endian f4 or f8, and
//! integers and booleans (genotypes saved as int8, fold labels as int64), converted exactly:
//! to f32 up to 16 bits, to f64 above (a 64-bit value beyond 2^53 is refused, not rounded).
//!
//! A Fortran-ordered matrix is already column-major, so it is memory-mapped and used in place;
//! a C-ordered one is transposed once into owned column-major storage of the same element type.

use std::io::Write;
use std::path::Path;

use memmap2::Mmap;
use rayon::prelude::*;

use super::Dataset;
use crate::design::{Dense, Design, Element};
use crate::error::{Error, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

/// The element types we can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DType {
    F32,
    F64,
    /// An integer of `bytes` bytes.
    Int {
        bytes: usize,
        signed: bool,
    },
    /// NumPy's bool: one byte, False for 0 and True for any other value (as `np.load` reads a
    /// `uint8` array viewed as bool, whose bytes may be 2 or 255).
    Bool,
}

impl DType {
    fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
            DType::Int { bytes, .. } => bytes,
            DType::Bool => 1,
        }
    }

    fn name(self) -> String {
        match self {
            DType::F32 => "float32".into(),
            DType::F64 => "float64".into(),
            DType::Int { bytes, signed } => {
                format!("{}int{}", if signed { "" } else { "u" }, 8 * bytes)
            }
            DType::Bool => "bool".into(),
        }
    }
}

/// Integers above this in magnitude are not all exact in f64.
const EXACT_F64_INT: u64 = 1 << 53;

/// The little-endian integers of `bytes` (`width` bytes each) converted by `to`, exactly;
/// `Err((k, v))` names the first beyond [`EXACT_F64_INT`] (only 64-bit ones can be).
fn exact_integers<T: Send>(
    bytes: &[u8],
    width: usize,
    signed: bool,
    to: impl Fn(f64) -> T + Sync,
) -> std::result::Result<Vec<T>, (usize, String)> {
    // (magnitude, negative, as written).
    let value = |c: &[u8]| -> (u64, bool, i128) {
        let mut b = [0u8; 8];
        b[..width].copy_from_slice(c);
        let shift = 64 - 8 * width as u32;
        if signed {
            let v = (i64::from_le_bytes(b) << shift) >> shift;
            (v.unsigned_abs(), v < 0, i128::from(v))
        } else {
            let v = u64::from_le_bytes(b);
            (v, false, i128::from(v))
        }
    };
    bytes
        .par_chunks_exact(width)
        .enumerate()
        .map(|(k, c)| {
            let (magnitude, negative, written) = value(c);
            if magnitude > EXACT_F64_INT {
                return Err((k, written.to_string()));
            }
            let v = magnitude as f64;
            Ok(to(if negative { -v } else { v }))
        })
        .collect()
}

fn inexact(path: &Path, value: String, location: String) -> Error {
    format_err(
        path,
        format!(
            "the integer {value} at {location} is beyond 2^53: float64 cannot hold it exactly \
             (lariat computes in floating point)"
        ),
    )
}

/// What the header of a `.npy` file says about the array that follows it.
struct NpyHeader {
    dtype: DType,
    fortran_order: bool,
    shape: Vec<usize>,
    /// Byte offset of the first element.
    data_offset: usize,
}

/// Reads a 2-D `.npy` array as the design matrix (no target, no names).
pub fn read_design(path: &Path) -> Result<Dataset> {
    design_from(path, file_bytes(path)?)
}

/// [`read_design`] from bytes in memory (always copied); `path` only names them in messages.
pub fn read_design_bytes(bytes: &[u8], path: &Path) -> Result<Dataset> {
    design_from(path, Bytes::Borrowed(bytes))
}

/// The contents of a file: memory-mapped (then a Fortran-ordered matrix is used in place),
/// read into memory (a pipe, which cannot be mapped), or borrowed from the caller.
enum Bytes<'a> {
    Mapped(Mmap),
    Owned(Vec<u8>),
    Borrowed(&'a [u8]),
}

impl std::ops::Deref for Bytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
            Bytes::Borrowed(b) => b,
        }
    }
}

fn design_from(path: &Path, bytes: Bytes) -> Result<Dataset> {
    let header = parse_header(path, &bytes)?;
    let (n, p) = match header.shape[..] {
        [n, p] => (n, p),
        _ => {
            return Err(format_err(
                path,
                format!(
                    "expected a 2-D array (n samples x p features), found shape {}",
                    shape_str(&header.shape)
                ),
            ))
        }
    };
    check_data_len(path, &header, bytes.len())?;
    let x: Box<dyn Design> = match header.dtype {
        DType::F32 => Box::new(load_dense::<f32>(path, bytes, &header, n, p)?),
        DType::F64 => Box::new(load_dense::<f64>(path, bytes, &header, n, p)?),
        DType::Bool => Box::new(load_integers(
            path,
            &as_zero_one(&bytes, &header),
            &header,
            (n, p),
            (1, false),
            |v| v as f32,
        )?),
        DType::Int { bytes: w, signed } if w <= 2 => Box::new(load_integers(
            path,
            &bytes,
            &header,
            (n, p),
            (w, signed),
            |v| v as f32,
        )?),
        DType::Int { bytes: w, signed } => Box::new(load_integers(
            path,
            &bytes,
            &header,
            (n, p),
            (w, signed),
            |v| v,
        )?),
    };
    Ok(Dataset::plain(x, None, None, path))
}

/// The file's bytes with each byte of a bool array's data made 0 or 1, its truth value.
fn as_zero_one(bytes: &[u8], header: &NpyHeader) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let data = &mut out[header.data_offset..];
    data.iter_mut().for_each(|b| *b = u8::from(*b != 0));
    out
}

/// Reads a vector: a 1-D array, or a 2-D array with a single column or a single row.
pub fn read_vector(path: &Path) -> Result<Vec<f64>> {
    read_vector_bytes(&file_bytes(path)?, path)
}

/// [`read_vector`] from bytes in memory; `path` only names them in messages.
pub fn read_vector_bytes(bytes: &[u8], path: &Path) -> Result<Vec<f64>> {
    let header = parse_header(path, bytes)?;
    // One row or one column is the same contiguous run of values in either memory order.
    let ok = match header.shape[..] {
        [_] => true,
        [r, c] => r == 1 || c == 1,
        _ => false,
    };
    if !ok {
        return Err(format_err(
            path,
            format!(
                "expected a 1-D array (or a single row or column), found shape {}",
                shape_str(&header.shape)
            ),
        ));
    }
    let len = check_data_len(path, &header, bytes.len())?;
    let bytes = &bytes[header.data_offset..header.data_offset + len];
    let values: Vec<f64> = match header.dtype {
        DType::F32 => copy_pod::<f32>(bytes).into_iter().map(f64::from).collect(),
        DType::F64 => copy_pod::<f64>(bytes),
        DType::Int { bytes: w, signed } => exact_integers(bytes, w, signed, |v| v)
            .map_err(|(k, v)| inexact(path, v, format!("index {k} (0-based)")))?,
        DType::Bool => bytes.iter().map(|&b| f64::from(u8::from(b != 0))).collect(),
    };
    if let Some(i) = first_non_finite(&values) {
        return Err(non_finite(path, values[i], format!("index {i} (0-based)")));
    }
    Ok(values)
}

/// Writes a column-major `n x p` matrix as a Fortran-ordered `<f8` `.npy` (format 1.0).
/// The file appears atomically: it is written beside `path` and renamed into place.
pub fn write_npy_f64(path: &Path, n: usize, p: usize, col_major: &[f64]) -> Result<()> {
    if n.checked_mul(p) != Some(col_major.len()) {
        return Err(Error::Shape {
            what: format!(
                "writing {}: a {n} x {p} matrix needs {} values, got {}",
                path.display(),
                n.saturating_mul(p),
                col_major.len()
            ),
        });
    }
    let header = header_v1("<f8", true, &format!("({n}, {p})"));
    write_atomic(path, &header, col_major)
}

/// Writes a 1-D `<f8` `.npy` (format 1.0), atomically like [`write_npy_f64`].
pub fn write_npy_vec(path: &Path, values: &[f64]) -> Result<()> {
    let header = header_v1("<f8", false, &format!("({},)", values.len()));
    write_atomic(path, &header, values)
}

/// Transposes a row-major `n x p` matrix into a new column-major one.
///
/// Works in blocks of columns so that each row contributes one short contiguous read and the
/// writes stay within a few cache lines per column; blocks are independent, hence parallel.
pub(crate) fn row_to_col_major<T: bytemuck::Pod + Send + Sync>(
    rows: &[T],
    n: usize,
    p: usize,
) -> Vec<T> {
    const BLOCK: usize = 32;
    debug_assert_eq!(rows.len(), n * p);
    let mut out = vec![T::zeroed(); n * p];
    if n == 0 || p == 0 {
        return out;
    }
    out.par_chunks_mut(n * BLOCK)
        .enumerate()
        .for_each(|(b, cols)| {
            let j0 = b * BLOCK;
            let width = cols.len() / n;
            for (i, row) in rows.chunks_exact(p).enumerate() {
                for (jj, &v) in row[j0..j0 + width].iter().enumerate() {
                    cols[jj * n + i] = v;
                }
            }
        });
    out
}

/// The bytes of the file at `path`: a regular file mapped, a pipe or device read (it cannot
/// be mapped: `--x /dev/stdin`, `<(...)`), a directory refused by name.
fn file_bytes(path: &Path) -> Result<Bytes<'static>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(format_err(path, "is a directory, not a .npy file".into()));
    }
    if meta.is_file() {
        return map_file(path).map(Bytes::Mapped);
    }
    use std::io::Read;
    let mut all = Vec::new();
    super::open(path)?
        .read_to_end(&mut all)
        .map_err(|e| Error::io(path, e))?;
    Ok(Bytes::Owned(all))
}

fn map_file(path: &Path) -> Result<Mmap> {
    let file = super::open(path)?;
    // SAFETY: the map is read-only. As with any memory map, another process truncating or
    // rewriting the file while we hold the map would be undefined behaviour; inputs are
    // assumed not to change while they are being used, as every mmap-based reader does.
    unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))
}

fn format_err(path: &Path, msg: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        msg,
    }
}

fn non_finite(path: &Path, value: f64, location: String) -> Error {
    Error::NonFinite {
        path: path.to_path_buf(),
        what: "non-finite",
        value,
        location,
    }
}

/// Python's spelling of a shape tuple, as users see it in NumPy.
fn shape_str(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// Checks that the file holds all the data the header promises; returns its length in bytes.
/// Bytes after the data are ignored, as NumPy does.
fn check_data_len(path: &Path, header: &NpyHeader, file_len: usize) -> Result<usize> {
    let needed = header
        .shape
        .iter()
        .try_fold(header.dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            format_err(
                path,
                format!("shape {} is too large", shape_str(&header.shape)),
            )
        })?;
    let available = file_len.saturating_sub(header.data_offset);
    if available < needed {
        return Err(format_err(
            path,
            format!(
                "file is truncated: a {} array of shape {} needs {needed} bytes of data after \
                 the {}-byte header, but only {available} bytes are there",
                header.dtype.name(),
                shape_str(&header.shape),
                header.data_offset
            ),
        ));
    }
    Ok(needed)
}

/// Builds the dense matrix, zero-copy when the file is mapped, Fortran-ordered and suitably
/// aligned.
fn load_dense<T: Element>(
    path: &Path,
    bytes: Bytes,
    header: &NpyHeader,
    n: usize,
    p: usize,
) -> Result<Dense<T>> {
    let offset = header.data_offset;
    let data_bytes = &bytes[offset..offset + n * p * std::mem::size_of::<T>()];
    // Row and column of flat element k in the file's own memory order.
    let locate = |k: usize| {
        if header.fortran_order {
            (k % n, k / n)
        } else {
            (k / p, k % p)
        }
    };
    let check = |data: &[T]| match first_non_finite(data) {
        Some(k) => {
            let (i, j) = locate(k);
            Err(non_finite(
                path,
                data[k].to_f64(),
                format!("row {i}, column {j} (0-based)"),
            ))
        }
        None => Ok(()),
    };
    // The npy spec pads the header to a multiple of 64 bytes, so data in a well-formed file
    // is aligned; files from other writers may not be, and then we copy.
    match bytemuck::try_cast_slice::<u8, T>(data_bytes) {
        Ok(data) if header.fortran_order => {
            check(data)?;
            match bytes {
                Bytes::Mapped(map) => Ok(Dense::from_mapped(n, p, map, offset)),
                Bytes::Owned(_) | Bytes::Borrowed(_) => {
                    Ok(Dense::from_col_major(n, p, data.to_vec()))
                }
            }
        }
        Ok(data) => {
            check(data)?;
            Ok(Dense::from_col_major(n, p, row_to_col_major(data, n, p)))
        }
        Err(_) => {
            let data = copy_pod::<T>(data_bytes);
            check(&data)?;
            let data = if header.fortran_order {
                data
            } else {
                row_to_col_major(&data, n, p)
            };
            Ok(Dense::from_col_major(n, p, data))
        }
    }
}

/// An integer matrix, converted exactly to `T` (by `to`) in column-major order.
fn load_integers<T: Element>(
    path: &Path,
    bytes: &[u8],
    header: &NpyHeader,
    (n, p): (usize, usize),
    (width, signed): (usize, bool),
    to: impl Fn(f64) -> T + Sync,
) -> Result<Dense<T>> {
    let offset = header.data_offset;
    let raw = &bytes[offset..offset + n * p * width];
    // A C-ordered matrix is transposed while it is still integers (1 to 8 bytes an entry), so
    // that only one matrix of T is ever made.
    let transposed;
    let column_major = if header.fortran_order {
        raw
    } else {
        transposed = match width {
            1 => row_to_col_major(raw, n, p),
            2 => transpose_entries::<2>(raw, n, p),
            4 => transpose_entries::<4>(raw, n, p),
            _ => transpose_entries::<8>(raw, n, p),
        };
        &transposed
    };
    let data = exact_integers(column_major, width, signed, to).map_err(|(k, v)| {
        inexact(
            path,
            v,
            format!("row {}, column {} (0-based)", k % n, k / n),
        )
    })?;
    Ok(Dense::from_col_major(n, p, data))
}

/// The bytes of a row-major `n x p` matrix of `W`-byte entries, in column-major order.
fn transpose_entries<const W: usize>(raw: &[u8], n: usize, p: usize) -> Vec<u8>
where
    [u8; W]: bytemuck::Pod,
{
    let entries: &[[u8; W]] = bytemuck::cast_slice(raw);
    row_to_col_major(entries, n, p).concat()
}

/// Copies raw little-endian bytes into a typed vector (for data that is not aligned).
fn copy_pod<T: bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
    let mut out = vec![T::zeroed(); bytes.len() / std::mem::size_of::<T>()];
    bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(bytes);
    out
}

/// Flat index of the first NaN or infinite value.
fn first_non_finite<T: Element>(data: &[T]) -> Option<usize> {
    const CHUNK: usize = 1 << 14;
    // A branch-free OR over each chunk vectorises; the element-by-element search runs only in
    // the chunk that holds a bad value. Chunks are checked in parallel; the first bad one wins.
    let bad_chunk = data
        .par_chunks(CHUNK)
        .position_first(|c| c.iter().fold(false, |acc, x| acc | !x.to_f64().is_finite()))?;
    let start = bad_chunk * CHUNK;
    data[start..]
        .iter()
        .position(|x| !x.to_f64().is_finite())
        .map(|k| start + k)
}

/// The shape in the header of the `.npy` file at `path` (read from its first bytes only), or
/// `None` when it cannot be read as one.
pub fn shape_of(path: &Path) -> Option<Vec<usize>> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(1 << 17)
        .read_to_end(&mut head)
        .ok()?;
    parse_header(path, &head).ok().map(|h| h.shape)
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<NpyHeader> {
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Err(format_err(
            path,
            "not a .npy file (it does not start with the \\x93NUMPY magic string)".into(),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 in 4.
    let (len_size, start) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        _ => {
            let msg = format!(
                "unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)"
            );
            return Err(format_err(path, msg));
        }
    };
    let header_len = bytes
        .get(8..8 + len_size)
        .map(|b| {
            b.iter()
                .rev()
                .fold(0usize, |acc, &x| (acc << 8) | usize::from(x))
        })
        .ok_or_else(|| format_err(path, "file is truncated inside the header".into()))?;
    let end = start + header_len;
    let raw = bytes.get(start..end).ok_or_else(|| {
        format_err(
            path,
            format!(
                "file is truncated: the header should be {header_len} bytes, but the file \
                 has {} bytes in all",
                bytes.len()
            ),
        )
    })?;
    let text = std::str::from_utf8(raw)
        .map_err(|_| format_err(path, "the header is not ASCII text".into()))?;
    let dict = LitParser::new(text).parse_dict().map_err(|msg| {
        format_err(
            path,
            format!("cannot parse the header {:?}: {msg}", text.trim_end()),
        )
    })?;
    let get = |key: &str| {
        dict.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .ok_or_else(|| format_err(path, format!("the header has no '{key}' entry")))
    };
    let dtype = parse_dtype(path, get("descr")?)?;
    let fortran_order = match get("fortran_order")? {
        Lit::Bool(b) => *b,
        _ => {
            return Err(format_err(
                path,
                "'fortran_order' must be True or False".into(),
            ))
        }
    };
    let shape = match get("shape")? {
        Lit::Seq(dims) => dims
            .iter()
            .map(|d| match d {
                Lit::Int(v) => Ok(*v),
                _ => Err(format_err(
                    path,
                    "'shape' must be a tuple of integers".into(),
                )),
            })
            .collect::<Result<Vec<usize>>>()?,
        _ => {
            return Err(format_err(
                path,
                "'shape' must be a tuple of integers".into(),
            ))
        }
    };
    Ok(NpyHeader {
        dtype,
        fortran_order,
        shape,
        data_offset: end,
    })
}

fn parse_dtype(path: &Path, descr: &Lit) -> Result<DType> {
    let Lit::Str(descr) = descr else {
        return Err(format_err(
            path,
            "structured dtypes are not supported; save a plain float64 or float32 array".into(),
        ));
    };
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<' | b'>' | b'|' | b'=') => descr.split_at(1),
        _ => ("", descr.as_str()),
    };
    let int = |bytes, signed| DType::Int { bytes, signed };
    let dtype = match code {
        "f8" => DType::F64,
        "f4" => DType::F32,
        "i1" => int(1, true),
        "i2" => int(2, true),
        "i4" => int(4, true),
        "i8" => int(8, true),
        "b1" => DType::Bool,
        "u1" => int(1, false),
        "u2" => int(2, false),
        "u4" => int(4, false),
        "u8" => int(8, false),
        _ => {
            return Err(format_err(
                path,
                format!(
                    "unsupported dtype '{descr}': expected little-endian float64 ('<f8'), \
                     float32 ('<f4'), an integer or bool; convert with arr.astype(np.float64)"
                ),
            ))
        }
    };
    // '|', '=' and a missing byte-order mark all mean the writer's native order, which we
    // take as little-endian, the order of every platform NumPy is commonly run on.
    let little = matches!(order, "<" | "|" | "=" | "");
    if !little || cfg!(target_endian = "big") {
        return Err(format_err(
            path,
            format!(
                "dtype '{descr}' is big-endian or this machine is; only little-endian data is \
                 read (convert with arr.astype('<{code}'))"
            ),
        ));
    }
    Ok(dtype)
}

/// The Python literals that appear in a `.npy` header.
#[derive(Debug)]
enum Lit {
    Str(String),
    Bool(bool),
    Int(usize),
    None,
    /// A tuple or a list.
    Seq(Vec<Lit>),
    Dict(Vec<(String, Lit)>),
}

/// A small recursive-descent parser for the header's Python dict literal.
struct LitParser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> LitParser<'a> {
    /// Deep nesting only comes from malformed or hostile headers; refuse it before the stack
    /// does.
    const MAX_DEPTH: usize = 32;

    fn new(text: &'a str) -> Self {
        LitParser {
            s: text.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn parse_dict(mut self) -> std::result::Result<Vec<(String, Lit)>, String> {
        let dict = match self.value()? {
            Lit::Dict(d) => d,
            _ => return Err("the header is not a dict".into()),
        };
        if self.peek().is_some() {
            return Err(format!(
                "unexpected text after the dict at byte {}",
                self.pos
            ));
        }
        Ok(dict)
    }

    /// The next non-blank byte, without consuming it.
    fn peek(&mut self) -> Option<u8> {
        while self
            .s
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        match self.peek() {
            Some(b) if b == c => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => Err(format!(
                "expected '{}' at byte {}, found '{}'",
                c as char, self.pos, b as char
            )),
            None => Err(format!(
                "expected '{}', found the end of the header",
                c as char
            )),
        }
    }

    fn value(&mut self) -> std::result::Result<Lit, String> {
        if self.depth >= Self::MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        self.depth += 1;
        let v = match self.peek() {
            Some(b'{') => self.dict(),
            Some(b'(') => self.seq(b'(', b')'),
            Some(b'[') => self.seq(b'[', b']'),
            Some(q @ (b'\'' | b'"')) => self.string(q).map(Lit::Str),
            Some(b) if b.is_ascii_digit() => self.int(),
            Some(b) if b.is_ascii_alphabetic() => self.word(),
            Some(b) => Err(format!("unexpected '{}' at byte {}", b as char, self.pos)),
            None => Err("unexpected end of the header".into()),
        };
        self.depth -= 1;
        v
    }

    /// Items separated by commas, a trailing comma allowed, as Python writes them.
    fn items<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> std::result::Result<T, String>,
    ) -> std::result::Result<Vec<T>, String> {
        let mut out = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(out);
            }
            out.push(item(self)?);
            if self.peek() == Some(b',') {
                self.pos += 1;
            } else {
                self.expect(close)?;
                return Ok(out);
            }
        }
    }

    fn dict(&mut self) -> std::result::Result<Lit, String> {
        self.expect(b'{')?;
        let entries = self.items(b'}', |p| {
            let key = match p.peek() {
                Some(q @ (b'\'' | b'"')) => p.string(q)?,
                _ => return Err(format!("expected a quoted key at byte {}", p.pos)),
            };
            p.expect(b':')?;
            Ok((key, p.value()?))
        })?;
        Ok(Lit::Dict(entries))
    }

    fn seq(&mut self, open: u8, close: u8) -> std::result::Result<Lit, String> {
        self.expect(open)?;
        Ok(Lit::Seq(self.items(close, |p| p.value())?))
    }

    fn string(&mut self, quote: u8) -> std::result::Result<String, String> {
        self.pos += 1;
        let start = self.pos;
        let len = self.s[start..]
            .iter()
            .position(|&b| b == quote)
            .ok_or_else(|| format!("unterminated string starting at byte {}", start - 1))?;
        self.pos = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    fn int(&mut self) -> std::result::Result<Lit, String> {
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        let digits = String::from_utf8_lossy(&self.s[start..self.pos]);
        let v = digits
            .parse::<usize>()
            .map_err(|_| format!("integer {digits} is too large"))?;
        // Python 2 wrote long integers with an 'L' suffix.
        if self.s.get(self.pos) == Some(&b'L') {
            self.pos += 1;
        }
        Ok(Lit::Int(v))
    }

    fn word(&mut self) -> std::result::Result<Lit, String> {
        let start = self.pos;
        while self
            .s
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.pos += 1;
        }
        match &self.s[start..self.pos] {
            b"True" => Ok(Lit::Bool(true)),
            b"False" => Ok(Lit::Bool(false)),
            b"None" => Ok(Lit::None),
            w => Err(format!(
                "unexpected word '{}' at byte {start}",
                String::from_utf8_lossy(w)
            )),
        }
    }
}

/// A version 1.0 header: magic, version, length, dict, padded with spaces and a newline so
/// that the data starts at a multiple of 64 bytes, as the npy spec asks.
fn header_v1(descr: &str, fortran_order: bool, shape: &str) -> Vec<u8> {
    let fortran = if fortran_order { "True" } else { "False" };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    let unpadded = MAGIC.len() + 4 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // A 2-D shape never makes the dict anywhere near 64 KiB.
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

fn write_f64_le(w: &mut impl Write, values: &[f64]) -> std::io::Result<()> {
    if cfg!(target_endian = "little") {
        w.write_all(bytemuck::cast_slice(values))
    } else {
        values
            .iter()
            .try_for_each(|v| w.write_all(&v.to_le_bytes()))
    }
}

/// The header and the values, written as one output ([`crate::output::write_atomic`]: a
/// temporary beside `path`, renamed over it, removed on a signal).
fn write_atomic(path: &Path, header: &[u8], values: &[f64]) -> Result<()> {
    let mut bytes = Vec::with_capacity(header.len() + 8 * values.len());
    bytes.extend_from_slice(header);
    write_f64_le(&mut bytes, values).map_err(|e| Error::io(path, e))?;
    crate::output::write_atomic(path, &bytes)
}

/// Helpers shared by the reader tests of all formats.
#[cfg(test)]
pub(crate) mod testutil {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::design::Design;

    /// A unique path in the temp directory, removed when dropped.
    pub struct TempFile(pub PathBuf);

    impl TempFile {
        pub fn new(name: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let k = COUNTER.fetch_add(1, Ordering::Relaxed);
            let file = format!("lariat-test-{}-{k}-{name}", std::process::id());
            TempFile(std::env::temp_dir().join(file))
        }

        pub fn with_bytes(name: &str, bytes: &[u8]) -> Self {
            let t = Self::new(name);
            std::fs::write(&t.0, bytes).expect("writing a test file");
            t
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// The matrix behind any `Design`, column-major, read through `X e_j`.
    pub fn col_major(x: &dyn Design) -> Vec<f64> {
        let (n, p) = (x.n_rows(), x.n_cols());
        let mut out = Vec::with_capacity(n * p);
        let mut col = vec![0.0; n];
        for j in 0..p {
            let mut e = vec![0.0; p];
            e[j] = 1.0;
            x.matvec(&e, &mut col);
            out.extend_from_slice(&col);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{col_major, TempFile};
    use super::*;

    /// 3 x 4 test matrix, row-major: entry (i, j) = 10 i + j + 0.5.
    const N: usize = 3;
    const P: usize = 4;
    fn entry(i: usize, j: usize) -> f64 {
        (10 * i + j) as f64 + 0.5
    }
    fn expected_col_major() -> Vec<f64> {
        (0..P)
            .flat_map(|j| (0..N).map(move |i| entry(i, j)))
            .collect()
    }

    /// A `.npy` file assembled by hand, so the reader is not only tested against our writer.
    fn npy_bytes(version: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let f = if fortran { "True" } else { "False" };
        let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
        let pre = if version == 1 { 10 } else { 12 };
        while (pre + dict.len() + 1) % 64 != 0 {
            dict.push(' ');
        }
        dict.push('\n');
        let mut out = b"\x93NUMPY".to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn values_bytes(f32s: bool, fortran: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let order: Vec<(usize, usize)> = if fortran {
            (0..P).flat_map(|j| (0..N).map(move |i| (i, j))).collect()
        } else {
            (0..N).flat_map(|i| (0..P).map(move |j| (i, j))).collect()
        };
        for (i, j) in order {
            if f32s {
                out.extend_from_slice(&(entry(i, j) as f32).to_le_bytes());
            } else {
                out.extend_from_slice(&entry(i, j).to_le_bytes());
            }
        }
        out
    }

    fn err_text(r: Result<impl std::fmt::Debug>) -> String {
        format!("{}", r.expect_err("expected an error"))
    }

    #[test]
    fn all_dtypes_and_orders_give_the_same_matrix() {
        let written = TempFile::new("w.npy");
        write_npy_f64(written.path(), N, P, &expected_col_major()).unwrap();
        let ds = read_design(written.path()).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), expected_col_major());
        assert!(ds.x.describe().contains("f64"), "{}", ds.x.describe());
        assert!(
            ds.x.describe().contains("memory-mapped"),
            "{}",
            ds.x.describe()
        );
        assert!(ds.y.is_none() && ds.feature_names.is_none());

        for (version, descr, f32s, fortran) in [
            (1, "<f8", false, false),
            (1, "<f4", true, true),
            (1, "<f4", true, false),
            (2, "<f8", false, true),
            (3, "|f4", true, false),
            (1, "=f8", false, true),
        ] {
            let bytes = npy_bytes(
                version,
                descr,
                fortran,
                "(3, 4)",
                &values_bytes(f32s, fortran),
            );
            let t = TempFile::with_bytes("h.npy", &bytes);
            let ds = read_design(t.path()).unwrap();
            assert_eq!(
                col_major(ds.x.as_ref()),
                expected_col_major(),
                "{descr} F={fortran}"
            );
            let desc = ds.x.describe();
            assert!(desc.contains(if f32s { "f32" } else { "f64" }), "{desc}");
            assert_eq!(desc.contains("memory-mapped"), fortran, "{desc}");
        }
    }

    #[test]
    fn unaligned_data_is_copied() {
        // A header length that is not a multiple of 8 leaves the data misaligned.
        let dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 4), }\n";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        assert_ne!(bytes.len() % 8, 0);
        bytes.extend_from_slice(&values_bytes(false, true));
        let t = TempFile::with_bytes("u.npy", &bytes);
        let ds = read_design(t.path()).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), expected_col_major());
        assert!(ds.x.describe().contains("in memory"));
    }

    #[test]
    fn truncated_file_reports_sizes() {
        let mut bytes = npy_bytes(1, "<f8", true, "(3, 4)", &values_bytes(false, true));
        bytes.truncate(bytes.len() - 5);
        let t = TempFile::with_bytes("t.npy", &bytes);
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("truncated"), "{msg}");
        assert!(msg.contains("needs 96 bytes"), "{msg}");
        assert!(msg.contains("only 91 bytes"), "{msg}");
        assert!(msg.contains(&t.path().display().to_string()), "{msg}");
    }

    /// Integer and bool arrays (genotypes as int8, labels as int64) read as the same numbers:
    /// every width and sign, both orders, as a matrix and as a vector; f32 storage up to 16
    /// bits, f64 above.
    #[test]
    fn integers_are_read_exactly() {
        // Entry (i, j) = 10 i + j - 5: negative and positive values.
        let value = |i: usize, j: usize| (10 * i + j) as i64 - 5;
        let want: Vec<f64> = (0..P)
            .flat_map(|j| (0..N).map(move |i| value(i, j) as f64))
            .collect();
        for (descr, width, signed) in [
            ("|i1", 1, true),
            ("<i2", 2, true),
            ("<i4", 4, true),
            ("<i8", 8, true),
            ("<u2", 2, false),
            ("<u8", 8, false),
        ] {
            for fortran in [false, true] {
                let mut data = Vec::new();
                let order: Vec<(usize, usize)> = if fortran {
                    (0..P).flat_map(|j| (0..N).map(move |i| (i, j))).collect()
                } else {
                    (0..N).flat_map(|i| (0..P).map(move |j| (i, j))).collect()
                };
                for (i, j) in order {
                    // Unsigned types hold the values shifted up by 5.
                    let v = value(i, j) + if signed { 0 } else { 5 };
                    data.extend_from_slice(&v.to_le_bytes()[..width]);
                }
                let t =
                    TempFile::with_bytes("int.npy", &npy_bytes(1, descr, fortran, "(3, 4)", &data));
                let ds = read_design(t.path()).unwrap();
                let shift = if signed { 0.0 } else { 5.0 };
                let got: Vec<f64> = col_major(ds.x.as_ref()).iter().map(|v| v - shift).collect();
                assert_eq!(got, want, "{descr} F={fortran}");
                let elem = if width <= 2 { "f32" } else { "f64" };
                assert!(
                    ds.x.describe().contains(elem),
                    "{descr}: {}",
                    ds.x.describe()
                );
            }
        }
        let labels: Vec<u8> = [3i64, -1, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = TempFile::with_bytes("l.npy", &npy_bytes(1, "<i8", false, "(3,)", &labels));
        assert_eq!(read_vector(t.path()).unwrap(), vec![3.0, -1.0, 7.0]);
        // A bool's byte is its truth value, whatever non-zero byte says True (np.load's reading).
        let t = TempFile::with_bytes("b.npy", &npy_bytes(1, "|b1", false, "(3,)", &[1, 0, 2]));
        assert_eq!(read_vector(t.path()).unwrap(), vec![1.0, 0.0, 1.0]);
        let bools = [0u8, 255, 2, 1, 0, 7];
        let t = TempFile::with_bytes("bx.npy", &npy_bytes(1, "|b1", false, "(3, 2)", &bools));
        let ds = read_design(t.path()).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), vec![0.0, 1.0, 0.0, 1.0, 1.0, 1.0]);
        // 2^53 + 1 has no f64: refused with its place, never rounded.
        let mut big: Vec<u8> = [1i64, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        big.extend_from_slice(&((1i64 << 53) + 1).to_le_bytes());
        let t = TempFile::with_bytes("big.npy", &npy_bytes(1, "<i8", false, "(3,)", &big));
        let msg = err_text(read_vector(t.path()));
        assert!(
            msg.contains("9007199254740993 at index 2 (0-based)"),
            "{msg}"
        );
        assert!(msg.contains("beyond 2^53"), "{msg}");
        let mut m = vec![0u8; 8 * N * P];
        m[8 * 5..8 * 6].copy_from_slice(&u64::MAX.to_le_bytes());
        let t = TempFile::with_bytes("bigm.npy", &npy_bytes(1, "<u8", false, "(3, 4)", &m));
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("at row 1, column 1 (0-based)"), "{msg}");
    }

    #[test]
    fn bad_dtypes_are_named() {
        let t = TempFile::with_bytes("c.npy", &npy_bytes(1, "<c16", false, "(3, 4)", &[0; 192]));
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("unsupported dtype '<c16'"), "{msg}");

        let t = TempFile::with_bytes("b.npy", &npy_bytes(1, ">f8", false, "(3, 4)", &[0; 96]));
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("'>f8' is big-endian"), "{msg}");
    }

    #[test]
    fn malformed_headers_are_errors() {
        let t = TempFile::with_bytes("m.npy", b"PK\x03\x04 not numpy at all");
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("not a .npy file"), "{msg}");

        let t = TempFile::with_bytes("v.npy", &npy_bytes(1, "<f8", false, "(3, 4)", &[0; 96]));
        let mut bytes = std::fs::read(t.path()).unwrap();
        bytes[6] = 9;
        std::fs::write(t.path(), &bytes).unwrap();
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("version 9.0"), "{msg}");

        let t = TempFile::with_bytes("s.npy", &npy_bytes(1, "<f8", false, "(3, x)", &[0; 96]));
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("cannot parse the header"), "{msg}");

        let t = TempFile::with_bytes("d.npy", &npy_bytes(1, "<f8", false, "(2, 2, 3)", &[0; 96]));
        let msg = err_text(read_design(t.path()));
        assert!(
            msg.contains("expected a 2-D array") && msg.contains("(2, 2, 3)"),
            "{msg}"
        );

        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let t = TempFile::with_bytes("n.npy", &npy_bytes(1, "<f8", false, &deep, &[]));
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("nested too deeply"), "{msg}");

        let missing = TempFile::new("absent.npy");
        let msg = err_text(read_design(missing.path()));
        assert!(msg.contains("absent.npy"), "{msg}");
    }

    #[test]
    fn nan_location_is_reported_in_both_orders() {
        for fortran in [false, true] {
            let mut data = [1.0f64; N * P];
            // Element (1, 2) in the file's memory order.
            let k = if fortran { 2 * N + 1 } else { P + 2 };
            data[k] = f64::NAN;
            let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            let t =
                TempFile::with_bytes("nan.npy", &npy_bytes(1, "<f8", fortran, "(3, 4)", &bytes));
            let msg = err_text(read_design(t.path()));
            assert!(msg.contains("row 1, column 2 (0-based)"), "{msg}");
            assert!(msg.contains("NaN"), "{msg}");
        }
        let mut data = [1.0f32; N * P];
        data[N * P - 1] = f32::INFINITY;
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = TempFile::with_bytes("inf.npy", &npy_bytes(1, "<f4", false, "(3, 4)", &bytes));
        let msg = err_text(read_design(t.path()));
        assert!(msg.contains("inf at row 2, column 3 (0-based)"), "{msg}");
    }

    #[test]
    fn nan_scan_finds_the_first_across_chunks() {
        let mut data = vec![0.0f64; 100_000];
        data[70_001] = f64::INFINITY;
        data[90_000] = f64::NAN;
        assert_eq!(first_non_finite(&data), Some(70_001));
        assert_eq!(first_non_finite(&data[..70_000]), None);
    }

    #[test]
    fn vectors_in_all_shapes() {
        let y = [1.5, -2.0, 3.25];
        let t = TempFile::new("y.npy");
        write_npy_vec(t.path(), &y).unwrap();
        assert_eq!(read_vector(t.path()).unwrap(), y);

        let bytes: Vec<u8> = y.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect();
        for shape in ["(3, 1)", "(1, 3)", "(3,)"] {
            let t = TempFile::with_bytes("y4.npy", &npy_bytes(1, "<f4", false, shape, &bytes));
            assert_eq!(read_vector(t.path()).unwrap(), y, "{shape}");
        }

        let t = TempFile::with_bytes("y2.npy", &npy_bytes(1, "<f8", false, "(3, 2)", &[0; 48]));
        let msg = err_text(read_vector(t.path()));
        assert!(msg.contains("found shape (3, 2)"), "{msg}");

        let mut bad = y;
        bad[2] = f64::NAN;
        write_npy_vec(t.path(), &bad).unwrap();
        let msg = err_text(read_vector(t.path()));
        assert!(msg.contains("index 2 (0-based)"), "{msg}");
    }

    #[test]
    fn writer_checks_length_and_pads_header() {
        let t = TempFile::new("len.npy");
        let msg = err_text(write_npy_f64(t.path(), 2, 3, &[0.0; 5]));
        assert!(msg.contains("needs 6 values, got 5"), "{msg}");
        assert!(!t.path().exists());

        write_npy_f64(t.path(), 2, 3, &[0.0; 6]).unwrap();
        let bytes = std::fs::read(t.path()).unwrap();
        let data_offset = 10 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!(data_offset % 64, 0);
        assert_eq!(bytes.len(), data_offset + 48);
        assert_eq!(bytes[data_offset - 1], b'\n');
    }

    #[test]
    fn transpose_handles_blocks_and_edges() {
        for (n, p) in [(1, 1), (5, 1), (1, 70), (37, 65), (0, 3)] {
            let rows: Vec<f64> = (0..n * p).map(|k| k as f64).collect();
            let cols = row_to_col_major(&rows, n, p);
            for i in 0..n {
                for j in 0..p {
                    assert_eq!(cols[j * n + i], rows[i * p + j]);
                }
            }
        }
    }
}
