//! Seeded synthetic problems for the demo, the benchmarks and the tests: a small, fixed RNG
//! (so results are reproducible across platforms and releases) and a Toeplitz-correlated
//! design `corr(x_j, x_k) = rho^|j - k|`, the standard benchmark of the Lasso literature.

use crate::design::Dense;
use crate::error::{Error, Result};

/// xoshiro256** seeded through SplitMix64. Not cryptographic; fast and reproducible.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller; one of the pair is discarded for simplicity).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // in (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform integer in [0, k).
    pub fn below(&mut self, k: usize) -> usize {
        (self.uniform() * k as f64) as usize % k.max(1)
    }
}

/// A synthetic regression problem `y = X beta + noise`.
#[derive(Clone, Copy, Debug)]
pub struct SyntheticSpec {
    pub n: usize,
    pub p: usize,
    /// Number of non-zero entries of the true `beta`.
    pub n_informative: usize,
    /// Toeplitz correlation between neighbouring columns.
    pub rho: f64,
    /// Signal-to-noise ratio `sd(X beta) / sd(noise)`.
    pub snr: f64,
    pub seed: u64,
}

/// The generated data and the truth behind it.
pub struct Synthetic {
    pub x: Dense<f64>,
    pub y: Vec<f64>,
    pub beta: Vec<f64>,
    /// Sorted indices of the non-zero entries of `beta`.
    pub support: Vec<usize>,
}

/// Column-major `n x p` matrix with `corr(x_j, x_k) = rho^|j-k|`: each column is
/// `rho * previous + sqrt(1 - rho^2) * fresh noise`.
/// Refused, not aborted, when the machine cannot hold it.
pub fn toeplitz_design(n: usize, p: usize, rho: f64, rng: &mut Rng) -> Result<Dense<f64>> {
    let mut data = zeros(n, p)?;
    let c = (1.0 - rho * rho).sqrt();
    for v in data.iter_mut().take(n) {
        *v = rng.normal();
    }
    for j in 1..p {
        let (prev, cur) = data.split_at_mut(j * n);
        let prev = &prev[(j - 1) * n..];
        for (c_i, p_i) in cur.iter_mut().zip(prev).take(n) {
            *c_i = rho * p_i + c * rng.normal();
        }
    }
    Ok(Dense::from_col_major(n, p, data))
}

/// `n p` zeros, or an error that says how much memory they needed (allocating them with
/// `vec!` aborts the process when the memory is not there).
fn zeros(n: usize, p: usize) -> Result<Vec<f64>> {
    let len = n
        .checked_mul(p)
        .ok_or_else(|| Error::OutOfRange(format!("a {n} x {p} design has too many entries")))?;
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|_| {
        Error::OutOfRange(format!(
            "a {n} x {p} design needs {:.2} GB of memory, which this machine (or its memory \
             limit) does not give; use a smaller --n or --p",
            len as f64 * 8.0 / 1e9
        ))
    })?;
    data.resize(len, 0.0);
    Ok(data)
}

/// Generates a problem with `n_informative` true features of random sign and magnitude in
/// [1, 2], at random positions.
pub fn generate(spec: &SyntheticSpec) -> Result<Synthetic> {
    let mut rng = Rng::new(spec.seed);
    let x = toeplitz_design(spec.n, spec.p, spec.rho, &mut rng)?;
    let k = spec.n_informative.min(spec.p);
    let mut support: Vec<usize> = Vec::with_capacity(k);
    while support.len() < k {
        let j = rng.below(spec.p);
        if !support.contains(&j) {
            support.push(j);
        }
    }
    support.sort_unstable();
    let mut beta = vec![0.0; spec.p];
    for &j in &support {
        let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
        beta[j] = sign * (1.0 + rng.uniform());
    }
    let mut signal = vec![0.0; spec.n];
    crate::design::Design::matvec(&x, &beta, &mut signal);
    let mean = signal.iter().sum::<f64>() / spec.n as f64;
    let sd = (signal.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / spec.n as f64).sqrt();
    if spec.snr.is_nan() || spec.snr <= 0.0 {
        return Err(Error::invalid(
            "snr",
            spec.snr,
            "must be > 0 (inf: no noise)",
        ));
    }
    // Without a signal (no informative feature) the noise is the whole response.
    let noise_sd = if sd > 0.0 { sd / spec.snr } else { 1.0 };
    // Far below this the response's sums of squares would overflow f64.
    if noise_sd.is_nan() || noise_sd > 1e100 {
        return Err(Error::invalid(
            "snr",
            spec.snr,
            format!("too small: the noise's sd would be {noise_sd:.1e} (the signal's {sd:.1e})"),
        ));
    }
    let y = signal.iter().map(|s| s + noise_sd * rng.normal()).collect();
    Ok(Synthetic {
        x,
        y,
        beta,
        support,
    })
}
