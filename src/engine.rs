//! A backend that lives across fits: an opened device with its compiled kernels and the X it
//! has uploaded (the GPU backend keeps it resident and uploads again only for another
//! problem). Cross-validation, long sessions and language bindings fit many models through one
//! [`Engine`] instead of reopening the device for each; the one-call functions of
//! [`crate::fit`] and [`crate::cv`] make a fresh one.

use crate::error::Result;
use crate::fit::{device_for_row_subsets, FitConfig};
use crate::params::Algorithm;
use crate::solver::{make_backend, Backend, BackendKind, BackendRequest, CpuBackend};

/// The backends of a session: the one the configuration asks for, made on first use (for
/// `--device auto` the size of that first problem decides) and kept; and the CPU, for fits on
/// a subset of the rows (the GPU takes no row masks yet).
pub struct Engine {
    kind: BackendKind,
    algorithm: Algorithm,
    adapter: Option<String>,
    main: Option<Box<dyn Backend>>,
    cpu: CpuBackend,
}

impl Engine {
    /// An engine for the device, algorithm and adapter of `cfg`; nothing is opened yet.
    pub fn new(cfg: &FitConfig) -> Engine {
        Engine {
            kind: cfg.device,
            algorithm: cfg.solver.algorithm,
            adapter: cfg.adapter.clone(),
            main: None,
            cpu: CpuBackend::new(cfg.solver.algorithm),
        }
    }

    /// An engine around a backend the caller built (a GPU backend with test options, say).
    pub fn with_backend(backend: Box<dyn Backend>, cfg: &FitConfig) -> Engine {
        let mut e = Engine::new(cfg);
        e.main = Some(backend);
        e
    }

    /// The backend for a problem of `entries` matrix entries, on all rows or on a subset.
    pub fn backend(&mut self, entries: usize, row_subset: bool) -> Result<&mut dyn Backend> {
        if row_subset
            && device_for_row_subsets(self.kind)? == BackendKind::Cpu
            && self.main.as_ref().is_none_or(|b| b.device() != "cpu")
        {
            return Ok(&mut self.cpu);
        }
        if self.main.is_none() {
            self.main = Some(make_backend(&BackendRequest {
                kind: self.kind,
                algorithm: self.algorithm,
                adapter: self.adapter.clone(),
                entries,
            })?);
        }
        Ok(self.main.as_mut().expect("made above").as_mut())
    }
}
