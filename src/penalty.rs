//! The penalty seam. The Elastic Net `lambda (rho ||w||_1 + (1 - rho)/2 ||w||^2)`, in the units
//! of the objective `P(w) = 1/(2n) ||yc - Xc w||^2 + penalty(w)` (glmnet / scikit-learn).

use serde::{Deserialize, Serialize};

/// Elastic-Net penalty. `l1_ratio = 1` is the Lasso, `0` is Ridge.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElasticNet {
    pub lambda: f64,
    pub l1_ratio: f64,
}

/// `S(z, k) = sign(z) max(|z| - k, 0)`: the proximal operator of `k |.|`.
#[inline]
pub fn soft_threshold(z: f64, k: f64) -> f64 {
    if z > k {
        z - k
    } else if z < -k {
        z + k
    } else {
        0.0
    }
}

impl ElasticNet {
    /// Weight of the L1 term: `lambda rho`.
    #[inline]
    pub fn l1(&self) -> f64 {
        self.lambda * self.l1_ratio
    }

    /// Weight of the squared L2 term (with its 1/2): `lambda (1 - rho)`.
    #[inline]
    pub fn l2(&self) -> f64 {
        self.lambda * (1.0 - self.l1_ratio)
    }

    /// `lambda (rho ||w||_1 + (1 - rho)/2 ||w||^2)`.
    pub fn value(&self, w: &[f64]) -> f64 {
        let (l1, sq) = w
            .iter()
            .fold((0.0, 0.0), |(a, b), &x| (a + x.abs(), b + x * x));
        self.l1() * l1 + 0.5 * self.l2() * sq
    }

    /// Proximal step of the whole penalty with step `t` applied to `z`:
    /// `argmin_w 1/(2t) (w - z)^2 + penalty(w) = S(z, t lambda rho) / (1 + t lambda (1 - rho))`.
    /// FISTA applies the ridge part through the gradient instead (as the GPU does), so this
    /// is used where the exact prox is wanted.
    #[inline]
    pub fn prox(&self, z: f64, t: f64) -> f64 {
        soft_threshold(z, t * self.l1()) / (1.0 + t * self.l2())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_threshold_is_the_l1_prox() {
        assert_eq!(soft_threshold(3.0, 1.0), 2.0);
        assert_eq!(soft_threshold(-3.0, 1.0), -2.0);
        assert_eq!(soft_threshold(0.5, 1.0), 0.0);
        assert_eq!(soft_threshold(-1.0, 1.0), 0.0);
        // The prox minimises 1/2 (w - z)^2 + k |w|: compare with a fine grid search.
        let (z, k) = (1.7, 0.4);
        let f = |w: f64| 0.5 * (w - z) * (w - z) + k * w.abs();
        let best = (-3000..3000)
            .map(|i| i as f64 * 1e-3)
            .min_by(|a, b| f(*a).partial_cmp(&f(*b)).unwrap())
            .unwrap();
        assert!((soft_threshold(z, k) - best).abs() < 1e-3);
    }

    #[test]
    fn elastic_net_prox_minimises_its_objective() {
        let pen = ElasticNet {
            lambda: 0.8,
            l1_ratio: 0.3,
        };
        let (z, t) = (2.1, 0.5);
        let f = |w: f64| 0.5 / t * (w - z) * (w - z) + pen.value(&[w]);
        let w = pen.prox(z, t);
        for d in [-1e-4, 1e-4] {
            assert!(f(w) <= f(w + d));
        }
    }
}
