"""PyTorch's side of `wesar bench torch`: the Trainer's step (wesar_gpt.gradients, then AdamW) timed on the same model.

    python3 bench_step.py <folder>       # prints a JSON line

The folder holds an export with gates kept (config.json, model.safetensors: the .NET run's initial weights) and
bench.json (batch size, steps, warm-up steps, threads and the AdamW set-up). Batches are drawn at random from the
vocabulary: the step's time does not depend on the tokens. Refuses (exit 3) to time a BLAS that is neither OpenBLAS
nor MKL: Debian's reference BLAS is about 30 times slower, and a ratio against it would say nothing.
Set-up: `apt-get install python3-torch libopenblas0-pthread`.
"""
import json, os, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wesar_gpt


def blas_library():
    """(path, fast) of the BLAS this process's matmuls call, from /proc/self/maps: Debian's torch links libblas.so.3,
    which the alternatives system points at OpenBLAS or the reference BLAS; fast: OpenBLAS or MKL."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    paths = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower() or "mkl" in line.lower()})
    linked = [p for p in paths if os.path.basename(p).startswith("libblas")] or paths
    blas = linked[0] if linked else None
    return blas, blas is not None and ("openblas" in blas.lower() or "mkl" in blas.lower())


def sgemm_peak(n=2048, tries=5):
    """Best FLOP/s of an n x n x n float32 matmul, as the .NET side measures it."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(tries):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best


def main(folder):
    with open(os.path.join(folder, "bench.json")) as f:
        run = json.load(f)
    torch.set_num_threads(run["threads"])
    blas, fast = blas_library()
    if not fast:
        print(f"PyTorch uses {blas or 'no BLAS found'}, not OpenBLAS or MKL: a reference BLAS is about 30 times slower, so the "
              "comparison would be meaningless. Install libopenblas0-pthread (apt-get install libopenblas0-pthread) and let "
              "libblas.so.3 point at it (update-alternatives --display libblas.so.3-x86_64-linux-gnu; LD_LIBRARY_PATH may override it).",
              file=sys.stderr)
        sys.exit(3)
    torch.manual_seed(0)
    model = wesar_gpt.load(folder).train()
    params = wesar_gpt.trainable(model, run["frozen_gates"])
    opt = wesar_gpt.adamw(params, run["lr"], run["beta1"], run["beta2"], run["eps"], run["weight_decay"])
    c = model.config
    seconds = []
    for k in range(run["warmup"] + run["steps"]):
        tokens = torch.randint(0, c["vocab_size"], (run["batch_size"], c["block_size"] + 1))
        t = time.perf_counter()
        wesar_gpt.gradients(model, opt, params, tokens[:, :-1], tokens[:, 1:], run["grad_clip"])
        opt.step()
        if k >= run["warmup"]:
            seconds.append(time.perf_counter() - t)
    print(json.dumps({"torch": torch.__version__, "blas": blas, "threads": torch.get_num_threads(), "sgemm_flops": sgemm_peak(), "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1])
