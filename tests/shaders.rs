//! Every WGSL file parses and validates with naga (no adapter needed), with overrides resolved
//! for the workgroup sizes lariat uses, and without f64/f16/subgroup capabilities: the kernels
//! must stay portable.
#![cfg(feature = "gpu")]

use lariat::solver::gpu::kernels::{ParamsBinding, SHADERS};

fn validate(file: &str, params: ParamsBinding, constants: &[(&str, f64)]) -> Result<(), String> {
    let src = params.source(file);
    let module = naga::front::wgsl::parse_str(&src).map_err(|e| e.emit_to_string(&src))?;
    let caps = naga::valid::Capabilities::empty();
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| e.emit_to_string(&src))?;
    let pc: naga::back::PipelineConstants = constants
        .iter()
        .filter(|(k, _)| src.contains(&format!("override {k}")))
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    naga::back::pipeline_constants::process_overrides(&module, &info, None, &pc)
        .map_err(|e| format!("{file}: overrides {constants:?}: {e}"))?;
    Ok(())
}

#[test]
fn every_shader_validates() {
    for (file, _) in SHADERS {
        for (wg, tpc) in [(64.0, 64.0), (256.0, 32.0), (32.0, 8.0), (1024.0, 32.0)] {
            // K: the batch width of block.wgsl (the other files have no such override).
            for k in [1.0, 8.0, 32.0] {
                for params in [ParamsBinding::Storage, ParamsBinding::Uniform] {
                    let constants = [("WG", wg), ("TPC", tpc), ("K", k)];
                    if let Err(e) = validate(file, params, &constants) {
                        panic!("{file} (WG={wg}, TPC={tpc}, K={k}, {params:?}):\n{e}");
                    }
                }
            }
        }
    }
}

#[test]
fn the_validator_rejects_a_type_error() {
    // The test above must be able to fail: naga's parser alone accepts f32 + u32.
    let src = format!(
        "{}\nfn bad() -> f32 {{ let a = 1.0; let b = 2u; return a + b; }}",
        ParamsBinding::Storage.source("reduce.wgsl")
    );
    let module = naga::front::wgsl::parse_str(&src);
    let failed = match module {
        Err(_) => true,
        Ok(m) => naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&m)
        .is_err(),
    };
    assert!(failed);
}
