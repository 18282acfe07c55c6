//! The compute pipelines: one struct per shader file, each built once per device with an
//! explicit bind-group layout, plus the `#[repr(C)]` twins of the WGSL structs.
//!
//! Every shader is `common.wgsl` followed by its own file (no templating); workgroup sizes
//! are pipeline-overridable constants, chosen per adapter in [`KernelConfig`].

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

/// The full source of one kernel file: `common.wgsl` + the file.
pub fn source(file: &str) -> String {
    let body = SHADERS
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, src)| *src)
        .unwrap_or_else(|| panic!("unknown shader {file}"));
    format!("{COMMON}\n{body}")
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
}

impl KernelConfig {
    /// Defaults by adapter type: software rasterisers (lavapipe, llvmpipe) are barrier-averse
    /// and fastest with small workgroups; GPUs want 256 threads, 32 per column (one warp).
    /// `LARIAT_WG` / `LARIAT_TPC` override for tuning.
    pub fn for_adapter(device_type: wgpu::DeviceType, max_invocations: u32) -> Self {
        let (mut wg, mut tpc) = match device_type {
            // TPC = 1 (a thread per column, no barriers) measured 7x faster than 64 on
            // lavapipe for 200 x 5000.
            wgpu::DeviceType::Cpu => (64, 1),
            _ => (256, 32),
        };
        if let Some(v) = env_u32("LARIAT_WG") {
            wg = v;
        }
        if let Some(v) = env_u32("LARIAT_TPC") {
            tpc = v;
        }
        wg = wg.clamp(1, max_invocations.max(1)).next_power_of_two();
        if wg > max_invocations {
            wg /= 2;
        }
        tpc = tpc.clamp(1, wg).next_power_of_two().min(wg);
        KernelConfig {
            wg,
            tpc,
            max_grid_x: MAX_GRID_X,
        }
    }
}

fn env_u32(name: &str) -> Option<u32> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// How a binding is used, in binding order.
#[derive(Clone, Copy)]
pub enum Slot {
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
        file: &'static str,
        slots: &[Slot],
        entries: &[&'static str],
        constants: &[(&str, f64)],
    ) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(file),
            source: wgpu::ShaderSource::Wgsl(source(file).into()),
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
                            Slot::Uniform => wgpu::BufferBindingType::Uniform,
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
                "compact.wgsl",
                &[
                    Uniform, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite,
                    ReadWrite,
                ],
                &["count", "scan", "scatter", "compact_small"],
                &wg,
            ),
            residual: Kernel::new(
                device,
                "residual.wgsl",
                &[
                    Uniform, Uniform, Read, Read, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite,
                ],
                &["residual_partial", "residual_finish"],
                &wg,
            ),
            gradient: Kernel::new(
                device,
                "gradient.wgsl",
                &[Uniform, Uniform, Read, Read, Read, Read, ReadWrite],
                &["gradient"],
                &wg_tpc,
            ),
            fista: Kernel::new(
                device,
                "fista.wgsl",
                &[
                    Uniform, ReadWrite, ReadWrite, Read, ReadWrite, ReadWrite, ReadWrite,
                ],
                &["prox", "state_update", "momentum", "step_small"],
                &wg,
            ),
            reduce: Kernel::new(
                device,
                "reduce.wgsl",
                &[Uniform, Read, Read, Read, Read, ReadWrite],
                &["reduce_p", "reduce_n"],
                &wg,
            ),
            lanczos: Kernel::new(
                device,
                "lanczos.wgsl",
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
                        "block.wgsl",
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
                "batch_residual.wgsl",
                &[Uniform, Read, Read, Read, Read, Read, Read, Read, ReadWrite],
                &["residual_batch"],
                &wg,
            ),
            batch_fista: Kernel::new(
                device,
                "batch_fista.wgsl",
                &[
                    Uniform, Read, ReadWrite, ReadWrite, ReadWrite, Read, Read, ReadWrite,
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
}
