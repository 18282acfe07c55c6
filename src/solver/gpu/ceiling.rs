//! The device's bandwidth ceiling: a large device-to-device buffer copy, timed, the figure the
//! `X^T r` pass is compared with on hardware (`scripts/gpu_machine.sh`; `tests/gpu_copy.rs`
//! runs it). Bytes counted are read plus written.

use std::time::Instant;

use super::context::GpuContext;
use crate::error::{Error, Result};

/// One measurement.
#[derive(Clone, Debug)]
pub struct CopyCeiling {
    /// Bytes of each copy (the source buffer's size).
    pub bytes: u64,
    pub repeats: usize,
    /// Wall time of the timed submission (all repeats), after a warm-up copy.
    pub seconds: f64,
    /// `2 * bytes * repeats / seconds / 1e9`.
    pub gb_per_s: f64,
}

/// The u32 written at word `i` of the source: the copy is checked against it.
fn pattern(i: u64) -> u32 {
    (i as u32).wrapping_mul(0x9E37_79B9) ^ 0x5bd1_e995
}

/// Copies a `bytes`-sized buffer (capped by the adapter's `max_buffer_size`) into another
/// `repeats` times in one submission; checks the first and last 4 KiB of the destination.
pub fn copy_ceiling(ctx: &GpuContext, bytes: u64, repeats: usize) -> Result<CopyCeiling> {
    const SAMPLE: u64 = 4096;
    let bytes = bytes
        .min(ctx.limits.max_buffer_size)
        .max(2 * SAMPLE)
        .next_multiple_of(SAMPLE);
    let repeats = repeats.max(1);
    let buffer = |label, usage| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage,
            mapped_at_creation: false,
        })
    };
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let copy = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let src = buffer("copy source", copy | wgpu::BufferUsages::STORAGE);
    let dst = buffer("copy destination", copy | wgpu::BufferUsages::STORAGE);
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(Error::Gpu(format!(
            "cannot allocate two {bytes}-byte buffers: {e}"
        )));
    }
    // Fill in 64 MiB pieces, so the host never holds the whole buffer.
    const PIECE: u64 = 64 << 20;
    let mut at = 0;
    while at < bytes {
        let len = PIECE.min(bytes - at);
        let words: Vec<u32> = (at / 4..(at + len) / 4).map(pattern).collect();
        ctx.queue
            .write_buffer(&src, at, bytemuck::cast_slice(&words));
        at += len;
    }
    let run = |count: usize| -> Result<f64> {
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("copy ceiling"),
            });
        for _ in 0..count {
            enc.copy_buffer_to_buffer(&src, 0, &dst, 0, bytes);
        }
        let t0 = Instant::now();
        ctx.queue.submit([enc.finish()]);
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("copy ceiling: waiting for the device: {e}")))?;
        Ok(t0.elapsed().as_secs_f64())
    };
    run(1)?; // warm-up: first-touch allocation, clocks
    let seconds = run(repeats)?;
    ctx.check("copy ceiling")?;

    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("copy ceiling check"),
        size: 2 * SAMPLE,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("copy ceiling check"),
        });
    enc.copy_buffer_to_buffer(&dst, 0, &staging, 0, SAMPLE);
    enc.copy_buffer_to_buffer(&dst, bytes - SAMPLE, &staging, SAMPLE, SAMPLE);
    ctx.queue.submit([enc.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("copy ceiling: {e}")))?;
    rx.recv()
        .map_err(|_| Error::Gpu("copy ceiling: read-back dropped".into()))?
        .map_err(|e| Error::Gpu(format!("copy ceiling: read-back failed: {e}")))?;
    let ok = {
        let view = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("copy ceiling: {e}")))?;
        let got: &[u32] = bytemuck::cast_slice(&view);
        let words = SAMPLE / 4;
        let last = bytes / 4 - words;
        (0..words).all(|i| got[i as usize] == pattern(i))
            && (0..words).all(|i| got[(words + i) as usize] == pattern(last + i))
    };
    staging.unmap();
    if !ok {
        return Err(Error::Gpu(
            "copy ceiling: the destination does not hold the source".into(),
        ));
    }
    Ok(CopyCeiling {
        bytes,
        repeats,
        seconds,
        gb_per_s: 2.0 * bytes as f64 * repeats as f64 / seconds / 1e9,
    })
}
