//! The device apart from the work: adapter choice, device creation with the adapter's own
//! limits, error capture, and the adapter listing of `lariat info`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Environment variable that selects an adapter by (case-insensitive) name substring, like
/// `--adapter`.
pub const ADAPTER_ENV: &str = "LARIAT_ADAPTER";

/// A description of one adapter, for `lariat info` and reports.
#[derive(Clone, Debug)]
pub struct AdapterReport {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub is_software: bool,
    pub max_buffer_size: u64,
    pub max_storage_binding: u64,
    pub max_workgroup_invocations: u32,
    pub max_workgroup_size_x: u32,
    pub max_workgroup_storage: u32,
    pub max_storage_buffers_per_stage: u32,
    pub shader_f16: bool,
    pub subgroup: bool,
    pub shader_f64: bool,
}

impl AdapterReport {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        AdapterReport {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            is_software: info.device_type == wgpu::DeviceType::Cpu,
            max_buffer_size: limits.max_buffer_size,
            max_storage_binding: limits.max_storage_buffer_binding_size,
            max_workgroup_invocations: limits.max_compute_invocations_per_workgroup,
            max_workgroup_size_x: limits.max_compute_workgroup_size_x,
            max_workgroup_storage: limits.max_compute_workgroup_storage_size,
            max_storage_buffers_per_stage: limits.max_storage_buffers_per_shader_stage,
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            subgroup: features.contains(wgpu::Features::SUBGROUP),
            shader_f64: features.contains(wgpu::Features::SHADER_F64),
        }
    }

    /// One line: "NVIDIA H100 (Vulkan, DiscreteGpu)".
    pub fn short(&self) -> String {
        format!("{} ({}, {})", self.name, self.backend, self.device_type)
    }
}

/// Why no adapter may be seen: a `WGPU_BACKEND` that names no backend wgpu knows (it then
/// looks on none, and says so only in its log).
pub fn backend_env_problem() -> Option<String> {
    let v = std::env::var("WGPU_BACKEND").ok()?;
    wgpu::Backends::from_comma_list(&v).is_empty().then(|| {
        format!(
            "WGPU_BACKEND='{v}' names no backend (vulkan, gl, metal or dx12), so none is searched"
        )
    })
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

fn all_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// Every adapter wgpu can see, best first.
pub fn list_adapters() -> Vec<AdapterReport> {
    let mut adapters = all_adapters(&instance());
    adapters.sort_by_key(rank);
    adapters.iter().map(AdapterReport::of).collect()
}

/// Lower is better: hardware before software, Vulkan/Metal/DX12 before GL.
fn rank(a: &wgpu::Adapter) -> (u8, u8) {
    let info = a.get_info();
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Gl => 1,
        _ => 0,
    };
    (kind, backend)
}

/// Which adapter to use.
#[derive(Clone, Debug, Default)]
pub struct AdapterChoice {
    /// Case-insensitive substring of the adapter name (`--adapter`, or `LARIAT_ADAPTER`).
    pub name: Option<String>,
    /// Accept software adapters (lavapipe, llvmpipe): yes for `--device gpu`, no for `auto`.
    pub allow_software: bool,
}

/// An open device with the adapter's full limits, and a sink for errors wgpu would otherwise
/// turn into panics.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub report: AdapterReport,
    pub limits: wgpu::Limits,
    pub device_type: wgpu::DeviceType,
    /// What the host asked of the device so far (issue 10: round trips and fixed costs are
    /// measured by counts; times only on hardware).
    pub counts: DeviceCounters,
    /// The read-back buffer, kept between read-backs (each one used to allocate its own).
    staging: Mutex<Option<wgpu::Buffer>>,
    errors: Arc<Mutex<Vec<String>>>,
}

/// Running totals of the host's requests to the device.
#[derive(Debug, Default)]
pub struct DeviceCounters {
    submissions: AtomicU64,
    read_backs: AtomicU64,
    buffers: AtomicU64,
    bind_groups: AtomicU64,
}

/// A snapshot of [`DeviceCounters`]; differences of two give the cost of what ran between.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// `queue.submit` calls.
    pub submissions: u64,
    /// Buffers mapped for reading (each one a wait for the device).
    pub read_backs: u64,
    /// Buffers created (device allocations), staging buffers included.
    pub buffers: u64,
    pub bind_groups: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;
    fn sub(self, o: Counts) -> Counts {
        Counts {
            submissions: self.submissions - o.submissions,
            read_backs: self.read_backs - o.read_backs,
            buffers: self.buffers - o.buffers,
            bind_groups: self.bind_groups - o.bind_groups,
        }
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.submissions += o.submissions;
        self.read_backs += o.read_backs;
        self.buffers += o.buffers;
        self.bind_groups += o.bind_groups;
    }
}

impl DeviceCounters {
    pub fn submission(&self) {
        self.submissions.fetch_add(1, Ordering::Relaxed);
    }
    pub fn read_back(&self) {
        self.read_backs.fetch_add(1, Ordering::Relaxed);
    }
    pub fn buffer(&self) {
        self.buffers.fetch_add(1, Ordering::Relaxed);
    }
    pub fn bind_group(&self) {
        self.bind_groups.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> Counts {
        Counts {
            submissions: self.submissions.load(Ordering::Relaxed),
            read_backs: self.read_backs.load(Ordering::Relaxed),
            buffers: self.buffers.load(Ordering::Relaxed),
            bind_groups: self.bind_groups.load(Ordering::Relaxed),
        }
    }
}

impl GpuContext {
    /// Picks an adapter and opens a device on it.
    pub fn new(choice: &AdapterChoice) -> Result<GpuContext> {
        let instance = instance();
        let mut adapters = all_adapters(&instance);
        adapters.sort_by_key(rank);
        let wanted = choice
            .name
            .clone()
            .or_else(|| std::env::var(ADAPTER_ENV).ok())
            .filter(|s| !s.is_empty());
        let seen: Vec<String> = adapters
            .iter()
            .map(|a| AdapterReport::of(a).short())
            .collect();
        let adapter = adapters
            .into_iter()
            .find(|a| {
                let info = a.get_info();
                let name_ok = wanted
                    .as_ref()
                    .is_none_or(|w| info.name.to_lowercase().contains(&w.to_lowercase()));
                let type_ok = choice.allow_software || info.device_type != wgpu::DeviceType::Cpu;
                name_ok && type_ok
            })
            .ok_or_else(|| {
                let what = match &wanted {
                    Some(w) => format!("no GPU adapter matches '{w}'"),
                    None if choice.allow_software => "no GPU adapter found".to_string(),
                    None => "no hardware GPU adapter found".to_string(),
                };
                let seen = if seen.is_empty() {
                    backend_env_problem().map_or_else(
                        || {
                            "none (install a Vulkan driver, e.g. Debian's mesa-vulkan-drivers)"
                                .into()
                        },
                        |why| format!("none: {why}"),
                    )
                } else {
                    seen.join("; ")
                };
                Error::Gpu(format!("{what}; adapters seen: {seen}"))
            })?;
        let report = AdapterReport::of(&adapter);
        let limits = adapter.limits();
        let device_type = adapter.get_info().device_type;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("lariat"),
            required_features: wgpu::Features::empty(),
            // The defaults cap buffers at 256 MiB; lariat needs what the adapter really offers.
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::Gpu(format!("cannot open {}: {e}", report.short())))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        // Without a handler wgpu panics on the first validation error; lariat reports instead.
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock().unwrap().push(e.to_string());
        }));
        Ok(GpuContext {
            device,
            queue,
            report,
            limits,
            device_type,
            counts: DeviceCounters::default(),
            staging: Mutex::new(None),
            errors,
        })
    }

    /// Turns any error wgpu reported since the last call into an `Error`.
    pub fn check(&self, doing: &str) -> Result<()> {
        let mut errs = self.errors.lock().unwrap();
        if errs.is_empty() {
            return Ok(());
        }
        let all = errs.join("; ");
        errs.clear();
        Err(Error::Gpu(format!("{doing}: {all}")))
    }

    /// A mappable buffer of at least `size` bytes: the kept one when it is large enough, else a
    /// new one (sized to the next power of two, so that growth is rare). Hand it back with
    /// [`GpuContext::give_staging`] once unmapped.
    pub fn take_staging(&self, size: u64) -> wgpu::Buffer {
        if let Some(b) = self.staging.lock().unwrap().take() {
            if b.size() >= size {
                return b;
            }
        }
        self.counts.buffer();
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: size.next_power_of_two().max(256),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Keeps an unmapped staging buffer for the next read-back.
    pub fn give_staging(&self, buffer: wgpu::Buffer) {
        let mut kept = self.staging.lock().unwrap();
        if kept.as_ref().is_none_or(|k| k.size() < buffer.size()) {
            *kept = Some(buffer);
        }
    }

    /// The largest storage binding (and buffer) this device accepts, in bytes.
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }
}
