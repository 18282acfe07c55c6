//! The compute pipelines: one struct per shader file, each built once per device with an
//! explicit bind-group layout, plus the `#[repr(C)]` twins of the WGSL structs.
//!
//! Every shader is `common.wgsl` followed by its own file (no templating); workgroup sizes
//! are pipeline-overridable constants, chosen per adapter in [`KernelConfig`], and so is the
//! address space of each kernel's parameter structs ([`ParamsBinding`]).

use crate::error::{Error, Result};
use bytemuck::{Pod, Zeroable};

/// Shader sources, in the order they are validated by the tests.
pub const COMMON: &str = include_str!("../../../shaders/common.wgsl");
pub const SHADERS: [(&str, &str); 9] = [
    (
        "compact.wgsl",
        include_str!("../../../shaders/compact.wgsl"),
    ),
    (
        "residual.wgsl",
        include_str!("../../../shaders/residual.wgsl"),
    ),
    (
        "gradient.wgsl",
        include_str!("../../../shaders/gradient.wgsl"),
    ),
    ("fista.wgsl", include_str!("../../../shaders/fista.wgsl")),
    ("reduce.wgsl", include_str!("../../../shaders/reduce.wgsl")),
    (
        "lanczos.wgsl",
        include_str!("../../../shaders/lanczos.wgsl"),
    ),
    ("block.wgsl", include_str!("../../../shaders/block.wgsl")),
    (
        "batch_residual.wgsl",
        include_str!("../../../shaders/batch_residual.wgsl"),
    ),
    (
        "batch_fista.wgsl",
        include_str!("../../../shaders/batch_fista.wgsl"),
    ),
];

/// The full source of one kernel file: `common.wgsl` + the file, as written (parameters in
/// uniform buffers).
pub fn source(file: &str) -> String {
    let body = SHADERS
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, src)| *src)
        .unwrap_or_else(|| panic!("unknown shader {file}"));
    format!("{COMMON}\n{body}")
}

/// Where the kernels' parameter structs (`Params`, `Panel`, `Block`, `Sub`: sizes and
/// offsets) are bound.
///
/// Mesa's lavapipe (22.x, Debian 12's, the CI adapter) "inlines" uniform-buffer values that
/// reach a loop bound or a branch: while the inlined shader comes out under half the size,
/// it clones, optimises and recompiles the shader at *every* dispatch, and keeps each copy.
/// Which kernels qualify depends on the values (the block kernel at batch width 4 with 6 rows
/// did): a 6 x 40 cross-validation took 37 s and 968 MB, against 1.4 s and 130 MB with the
/// same structs in read-only storage buffers, which lavapipe never inlines. Storage is the
/// default where the adapter has the bindings; the structs' layouts are the same in both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsBinding {
    /// Read-only storage buffers (`var<storage, read>`).
    Storage,
    /// Uniform buffers, as the files are written (adapters with fewer than
    /// [`MOST_BINDINGS`] storage buffers per shader stage).
    Uniform,
}

/// The most bindings any kernel has (residual.wgsl's ten): with its parameters in storage,
/// the number of storage buffers per shader stage an adapter needs.
pub const MOST_BINDINGS: u32 = 10;

impl ParamsBinding {
    /// Storage where the adapter allows `max_storage_buffers` per shader stage, else uniform.
    pub fn for_limit(max_storage_buffers: u32) -> Self {
        match max_storage_buffers >= MOST_BINDINGS {
            true => ParamsBinding::Storage,
            false => ParamsBinding::Uniform,
        }
    }

    /// [`source`] with the parameter structs in this address space.
    pub fn source(self, file: &str) -> String {
        let src = source(file);
        match self {
            ParamsBinding::Uniform => src,
            ParamsBinding::Storage => src.replace("var<uniform>", "var<storage, read>"),
        }
    }

    fn binding_type(self) -> wgpu::BufferBindingType {
        match self {
            ParamsBinding::Storage => wgpu::BufferBindingType::Storage { read_only: true },
            ParamsBinding::Uniform => wgpu::BufferBindingType::Uniform,
        }
    }
}

/// Keep in sync with `struct Params` in shaders/common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    pub n: u32,
    pub p: u32,
    pub n_blocks: u32,
    pub n_red: u32,
    pub inv_n: f32,
    pub step: f32,
    pub l1: f32,
    pub l2: f32,
    pub n_chunks: u32,
    pub chunk_len: u32,
    pub n_panels: u32,
    pub lz_scale: f32,
}

/// Keep in sync with `struct Panel` in shaders/common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Panel {
    pub col_start: u32,
    pub ncols: u32,
    pub chunk_base: u32,
    pub index: u32,
}

/// Workgroup sizes. `wg` threads per workgroup everywhere; `tpc` threads per column in the
/// gradient (a power of two dividing `wg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelConfig {
    pub wg: u32,
    pub tpc: u32,
    /// Workgroups per grid dimension before a dispatch wraps into `y` (the WebGPU limit,
    /// 65535; tests lower it so that small problems take the 2-D path of wide ones).
    pub max_grid_x: u32,
    /// Where the parameter structs are bound.
    pub params: ParamsBinding,
}

impl KernelConfig {
    /// Defaults by adapter type: software rasterisers (lavapipe, llvmpipe) are barrier-averse
    /// and fastest with small workgroups; GPUs want 256 threads, 32 per column (one warp).
    /// `LARIAT_WG` / `LARIAT_TPC` override for tuning. Parameters go in storage where the
    /// adapter's `max_storage_buffers` per stage allow ([`ParamsBinding::for_limit`]).
    pub fn for_adapter(
        device_type: wgpu::DeviceType,
        max_invocations: u32,
        max_storage_buffers: u32,
    ) -> Result<Self> {
        let (mut wg, mut tpc) = match device_type {
            // TPC = 1 (a thread per column, no barriers) measured 7x faster than 64 on
            // lavapipe for 200 x 5000.
            wgpu::DeviceType::Cpu => (64, 1),
            _ => (256, 32),
        };
        if let Some(v) = env_u32("LARIAT_WG")? {
            wg = v;
        }
        if let Some(v) = env_u32("LARIAT_TPC")? {
            tpc = v;
        }
        wg = wg.clamp(1, max_invocations.max(1)).next_power_of_two();
        if wg > max_invocations {
            wg /= 2;
        }
        tpc = tpc.clamp(1, wg).next_power_of_two().min(wg);
        Ok(KernelConfig {
            wg,
            tpc,
            max_grid_x: MAX_GRID_X,
            params: ParamsBinding::for_limit(max_storage_buffers),
        })
    }
}

/// A tuning variable's value; one that is set but not a positive integer is an error, not
/// ignored.
fn env_u32(name: &'static str) -> Result<Option<u32>> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) => match v.trim().parse::<u32>() {
            Ok(x) if x > 0 => Ok(Some(x)),
            _ => Err(Error::invalid(name, format!("'{v}'"), "a positive integer")),
        },
    }
}

/// How a binding is used, in binding order.
#[derive(Clone, Copy)]
pub enum Slot {
    /// A parameter struct (`var<uniform>` in the file; bound as [`ParamsBinding`] says).
    Uniform,
    Read,
    ReadWrite,
}

/// One shader file: its pipelines (one per entry point) and their shared layout.
pub struct Kernel {
    pub layout: wgpu::BindGroupLayout,
    pipelines: Vec<(&'static str, wgpu::ComputePipeline)>,
}

impl Kernel {
    pub fn new(
        device: &wgpu::Device,
        (file, params): (&'static str, ParamsBinding),
        slots: &[Slot],
        entries: &[&'static str],
        constants: &[(&str, f64)],
    ) -> Self {
        assert!(
            slots.len() <= MOST_BINDINGS as usize,
            "{file} has more bindings than MOST_BINDINGS"
        );
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(file),
            source: wgpu::ShaderSource::Wgsl(params.source(file).into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(file),
            entries: &slots
                .iter()
                .enumerate()
                .map(|(i, slot)| wgpu::BindGroupLayoutEntry {
                    binding: i as u32,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: match slot {
                            Slot::Uniform => params.binding_type(),
                            Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                            Slot::ReadWrite => {
                                wgpu::BufferBindingType::Storage { read_only: false }
                            }
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                })
                .collect::<Vec<_>>(),
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(file),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = entries
            .iter()
            .map(|&entry| {
                let p = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pl),
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants,
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                });
                (entry, p)
            })
            .collect();
        Kernel { layout, pipelines }
    }

    pub fn pipeline(&self, entry: &str) -> &wgpu::ComputePipeline {
        &self
            .pipelines
            .iter()
            .find(|(e, _)| *e == entry)
            .unwrap_or_else(|| panic!("no entry point {entry}"))
            .1
    }

    pub fn bind(
        &self,
        device: &wgpu::Device,
        label: &str,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &self.layout,
            entries: &buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
                .collect::<Vec<_>>(),
        })
    }
}

/// All kernels of the solver.
pub struct Kernels {
    pub config: KernelConfig,
    pub compact: Kernel,
    pub residual: Kernel,
    pub gradient: Kernel,
    pub fista: Kernel,
    pub reduce: Kernel,
    pub lanczos: Kernel,
    /// block.wgsl, one per batch width in [`BLOCK_WIDTHS`] (the width is a pipeline constant).
    pub block: Vec<Kernel>,
    pub batch_residual: Kernel,
    pub batch_fista: Kernel,
}

/// Keep in sync with `struct Sub` in shaders/batch_residual.wgsl and batch_fista.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct SubUniform {
    pub n: u32,
    pub m: u32,
    pub k: u32,
    pub pad: u32,
}

/// The batch widths block.wgsl is compiled for: a batch of k problems runs on the smallest
/// width >= k (R's padding columns are zero), more than 32 in several passes.
pub const BLOCK_WIDTHS: [u32; 6] = [1, 2, 4, 8, 16, 32];

/// Keep in sync with `struct Block` in shaders/block.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct BlockUniform {
    pub n: u32,
    pub p: u32,
    pub k: u32,
    pub col_start: u32,
    pub ncols: u32,
    pub pad: [u32; 3],
}

impl Kernels {
    /// The block kernel for a batch of `k` problems (`k <= 32`) and its width.
    pub fn block_for(&self, k: usize) -> (&Kernel, usize) {
        let i = BLOCK_WIDTHS
            .iter()
            .position(|&w| w as usize >= k)
            .expect("batches of at most 32 problems");
        (&self.block[i], BLOCK_WIDTHS[i] as usize)
    }
}

impl Kernels {
    pub fn new(device: &wgpu::Device, config: KernelConfig) -> Self {
        use Slot::*;
        let wg = [("WG", config.wg as f64)];
        let wg_tpc = [("WG", config.wg as f64), ("TPC", config.tpc as f64)];
        Kernels {
            config,
            compact: Kernel::new(
                device,
                ("compact.wgsl", config.params),
                &[
                    Uniform, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite,
                    ReadWrite,
                ],
                &["count", "scan", "scatter", "compact_small"],
                &wg,
            ),
            residual: Kernel::new(
                device,
                ("residual.wgsl", config.params),
                &[
                    Uniform, Uniform, Read, Read, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite,
                ],
                &["residual_partial", "residual_finish"],
                &wg,
            ),
            gradient: Kernel::new(
                device,
                ("gradient.wgsl", config.params),
                &[Uniform, Uniform, Read, Read, Read, Read, ReadWrite],
                &["gradient"],
                &wg_tpc,
            ),
            fista: Kernel::new(
                device,
                ("fista.wgsl", config.params),
                &[
                    Uniform, ReadWrite, ReadWrite, Read, ReadWrite, ReadWrite, ReadWrite, Read,
                ],
                &["prox", "state_update", "momentum", "step_small"],
                &wg,
            ),
            reduce: Kernel::new(
                device,
                ("reduce.wgsl", config.params),
                &[Uniform, Read, Read, Read, Read, ReadWrite],
                &["reduce_p", "reduce_n"],
                &wg,
            ),
            lanczos: Kernel::new(
                device,
                ("lanczos.wgsl", config.params),
                &[Uniform, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite],
                &[
                    "lanczos_dots",
                    "lanczos_alpha",
                    "lanczos_residual",
                    "lanczos_beta",
                    "lanczos_scale",
                ],
                &wg,
            ),
            block: BLOCK_WIDTHS
                .iter()
                .map(|&k| {
                    Kernel::new(
                        device,
                        ("block.wgsl", config.params),
                        &[Uniform, Read, Read, Read, Read, Read, ReadWrite],
                        &["xtr"],
                        &[
                            ("WG", config.wg as f64),
                            ("TPC", config.tpc as f64),
                            ("K", k as f64),
                        ],
                    )
                })
                .collect(),
            batch_residual: Kernel::new(
                device,
                ("batch_residual.wgsl", config.params),
                &[Uniform, Read, Read, Read, Read, Read, Read, Read, ReadWrite],
                &["residual_batch"],
                &wg,
            ),
            batch_fista: Kernel::new(
                device,
                ("batch_fista.wgsl", config.params),
                &[
                    Uniform, Read, ReadWrite, ReadWrite, ReadWrite, Read, Read, ReadWrite, Read,
                ],
                &["fista_batch", "gap_batch"],
                &wg,
            ),
        }
    }
}

/// `max_compute_workgroups_per_dimension` of WebGPU (and of every adapter in practice).
pub const MAX_GRID_X: u32 = 65_535;

/// A 1-D count of workgroups as a 2-D grid within the 65535-per-dimension limit; shaders
/// linearise it with `wg_linear` and return from the excess workgroups of the last row.
pub fn grid(workgroups: u32) -> (u32, u32) {
    grid_within(workgroups, MAX_GRID_X)
}

/// [`grid`] with at most `max_x` workgroups in x.
pub fn grid_within(workgroups: u32, max_x: u32) -> (u32, u32) {
    let max_x = max_x.clamp(1, MAX_GRID_X);
    if workgroups <= max_x {
        (workgroups.max(1), 1)
    } else {
        (max_x, workgroups.div_ceil(max_x))
    }
}

impl KernelConfig {
    /// The grid of a dispatch of `workgroups` workgroups under this configuration.
    pub fn grid(&self, workgroups: u32) -> (u32, u32) {
        grid_within(workgroups, self.max_grid_x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_twins_match_the_wgsl_structs() {
        // Params: 4 u32 + 4 f32 + 4 u32; Panel: 4 u32. Uniform structs: multiples of 16 bytes.
        assert_eq!(std::mem::size_of::<Params>(), 48);
        assert_eq!(std::mem::size_of::<Panel>(), 16);
        assert_eq!(std::mem::size_of::<BlockUniform>(), 32);
        assert_eq!(std::mem::size_of::<SubUniform>(), 16);
        assert!(COMMON.contains("struct Params {") && COMMON.contains("struct Panel {"));
        let fields = |s: &str| {
            let start = COMMON.find(s).unwrap();
            let body = &COMMON[start..start + COMMON[start..].find('}').unwrap()];
            body.lines().filter(|l| l.contains(':')).count()
        };
        assert_eq!(fields("struct Params {"), 12);
        assert_eq!(fields("struct Panel {"), 4);
    }

    #[test]
    fn grid_covers_large_dispatches() {
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(65_535), (65_535, 1));
        let (x, y) = grid(65_536 * 3);
        assert!(x as u64 * y as u64 >= 65_536 * 3 && x <= 65_535);
        // A forced small limit: 10 workgroups as 3 x 4 (two excess in the last row).
        assert_eq!(grid_within(10, 3), (3, 4));
        assert_eq!(grid_within(3, 3), (3, 1));
    }

    #[test]
    fn parameters_go_in_storage_only_where_every_kernel_has_the_bindings() {
        assert_eq!(ParamsBinding::for_limit(8), ParamsBinding::Uniform);
        assert_eq!(
            ParamsBinding::for_limit(MOST_BINDINGS - 1),
            ParamsBinding::Uniform
        );
        assert_eq!(
            ParamsBinding::for_limit(MOST_BINDINGS),
            ParamsBinding::Storage
        );
        // Every parameter struct is declared in the one form the storage variant rewrites.
        for (file, src) in SHADERS {
            let storage = ParamsBinding::Storage.source(file);
            assert!(!storage.contains("var<uniform>"), "{file}");
            let declared = src.matches("var<uniform>").count();
            assert!(declared >= 1, "{file} has no parameter struct");
            assert!(
                storage.matches("var<storage, read> ").count() >= declared,
                "{file}"
            );
        }
    }
}
