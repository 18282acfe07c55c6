//! A backend that lives across fits: an opened device with its compiled kernels and the X it
//! has uploaded (the GPU backend keeps it resident and uploads again only for another
//! problem). Cross-validation, long sessions and language bindings fit many models through one
//! [`Engine`] instead of reopening the device for each; the one-call functions of
//! [`crate::fit`] and [`crate::cv`] make a fresh one.

use crate::error::{Error, Result};
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
    /// An engine for this device, algorithm and adapter (see `FitConfig::engine`); nothing
    /// is opened yet.
    pub fn new(kind: BackendKind, algorithm: Algorithm, adapter: Option<String>) -> Engine {
        Engine {
            kind,
            algorithm,
            adapter,
            main: None,
            cpu: CpuBackend::new(algorithm),
        }
    }

    /// An engine around a backend the caller built (a GPU backend with test options, say);
    /// row subsets go to a CPU coordinate descent beside it.
    pub fn with_backend(backend: Box<dyn Backend>) -> Engine {
        let kind = if backend.device() == "cpu" {
            BackendKind::Cpu
        } else {
            BackendKind::Gpu
        };
        let mut e = Engine::new(kind, Algorithm::Auto, None);
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

/// The device for problems on a subset of the rows (CV folds, a training set): the GPU
/// backend takes no row masks yet, so `auto` means the CPU and `gpu` is refused.
pub fn device_for_row_subsets(kind: BackendKind) -> Result<BackendKind> {
    match kind {
        BackendKind::Gpu => Err(Error::Unsupported(
            "fits on a subset of the rows (cross-validation, --holdout) run on the CPU for now; \
             use --device cpu (or auto)"
                .into(),
        )),
        _ => Ok(BackendKind::Cpu),
    }
}
