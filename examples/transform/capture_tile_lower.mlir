// A transform script for a stock mlir-opt with NormPlugin.so loaded: captures
// the decomposed norms of every function, tiles their rows into an
// scf.forall, bufferizes, and lowers each tile's norm op to the CPU kernel
// (vector code over the tile's rows). Upstream passes finish the job:
//
//   mlir-opt --load-dialect-plugin=NormPlugin.so --load-pass-plugin=NormPlugin.so \
//     --transform-preload-library=transform-library-paths=capture_tile_lower.mlir \
//     --transform-interpreter --norm-cpu-pipeline payload.mlir
//
// The tile size (rows per scf.forall iteration) is the script's choice; the
// kernel inside a tile is the one --convert-norm-to-affine emits.
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(
      %root: !transform.any_op {transform.consumed}) {
    %funcs = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    // Decomposed LayerNorm / RMSNorm chains become norm ops; the handle
    // holds the ops created.
    %norms = transform.norm.capture %funcs
        : (!transform.any_op) -> !transform.any_op
    // Norm ops implement TilingInterface over their row dimensions.
    %tiled, %forall = transform.structured.tile_using_forall %norms
        tile_sizes [4] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    // The CPU lowering works on memrefs.
    // Identity layouts at function boundaries give the kernel contiguous
    // rows (and so full-width vectors).
    %bufferized = transform.bufferization.one_shot_bufferize
        layout{IdentityLayoutMap} %root
        {bufferize_function_boundaries = true}
        : (!transform.any_op) -> !transform.any_op
    %foralls = transform.structured.match ops{["scf.forall"]} in %bufferized
        : (!transform.any_op) -> !transform.any_op
    %parallel = transform.loop.forall_to_parallel %foralls
        : (!transform.any_op) -> !transform.any_op
    %lowered_funcs = transform.structured.match ops{["func.func"]} in %bufferized
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %lowered_funcs {
      transform.apply_patterns.norm.lower_to_affine options = "parallel=false"
    } : !transform.any_op
    transform.yield
  }
}
