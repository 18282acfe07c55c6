//! A backend that lives across fits: an opened device with its compiled kernels and the X it
//! has uploaded (the GPU backend keeps it resident and uploads again only for another
//! problem). Cross-validation, long sessions and language bindings fit many models through one
//! [`Engine`] instead of reopening the device for each; the one-call functions of
//! [`crate::fit`] and [`crate::cv`] make a fresh one.

use crate::error::Result;
use crate::params::Algorithm;
use crate::solver::{make_backend, Backend, BackendKind, BackendRequest};

/// The backend of a session: the one the configuration asks for, made on first use (for
/// `--device auto` the size of that first problem decides) and kept, for problems on all rows
/// and on subsets of them (CV folds, a training set) alike.
pub struct Engine {
    kind: BackendKind,
    algorithm: Algorithm,
    adapter: Option<String>,
    main: Option<Box<dyn Backend>>,
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
        }
    }

    /// An engine around a backend the caller built (a GPU backend with test options, say).
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

    /// The backend for a problem of `entries` matrix entries.
    pub fn backend(&mut self, entries: usize) -> Result<&mut dyn Backend> {
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
