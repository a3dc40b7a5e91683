"""PyTorch's side of the parity check: does the .NET model train as this independent PyTorch replica does?

    python3 parity.py <dump folder>      # prints a JSON report

The folder is what tests/WeSaR.Training.Tests/PyTorchParityTests.cs writes from a real Trainer: config.json (an
export's, gates kept), parity.json (the hyper-parameters and, per step, the learning rate, loss and gradient norm the
Trainer reported) and parity.safetensors (`init.<name>`: the initial weights; `step<k>.x`, `step<k>.y`: the batches;
`step<k>.grad.<name>`: the gradients after clipping; `final.<name>`: the weights after the last step). This script
starts from the initial weights and trains the same steps on its own, with torch.nn.functional.cross_entropy,
clip_grad_norm_ and torch.optim.AdamW in the Trainer's two groups (matrices decay; gates, gains and positions below
2-D do not; frozen gates are not trained), and compares every step's loss, gradient norm and gradients, and the final
weights. Set-up: Debian's `apt-get install python3-torch libopenblas0-pthread` (docs/RESULTS.md, "Parity").
"""
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wesar_gpt


def relative(a, b):
    """max |a - b| over max |b|: the error against the tensor's own scale (0 where both are 0)."""
    scale = b.abs().max().item()
    return (a - b).abs().max().item() / scale if scale > 0 else (a - b).abs().max().item()


def main(folder):
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(folder, "parity.json")) as f:
        run = json.load(f)
    dump = wesar_gpt.read_safetensors(os.path.join(folder, "parity.safetensors"))
    model = wesar_gpt.WeSaRGPT(config)
    model.load_state_dict({k[len("init."):]: v for k, v in dump.items() if k.startswith("init.")})
    model.train()
    params = wesar_gpt.trainable(model, run["frozen_gates"])
    opt = wesar_gpt.adamw(params, run["steps"][0]["lr"], run["beta1"], run["beta2"], run["eps"], run["weight_decay"])

    steps = []
    for k, reported in enumerate(run["steps"]):
        for g in opt.param_groups:
            g["lr"] = reported["lr"]
        loss, norm = wesar_gpt.gradients(model, opt, params, dump[f"step{k}.x"], dump[f"step{k}.y"], run["grad_clip"])
        grads = {n: relative(p.grad, dump[f"step{k}.grad.{n}"]) for n, p in params}
        worst = max(grads, key=grads.get)
        prefix = f"step{k}.grad."
        missing = sorted(n[len(prefix):] for n in dump if n.startswith(prefix) and n[len(prefix):] not in grads)
        steps.append({
            "loss_dotnet": reported["loss"], "loss_pytorch": loss.item(),
            "loss_rel": abs(loss.item() - reported["loss"]) / abs(reported["loss"]),
            "grad_norm_rel": abs(norm.item() - reported["grad_norm"]) / reported["grad_norm"],
            "grad_rel_max": grads[worst], "grad_worst": worst, "grads": len(grads), "grads_only_in_dotnet": missing,
        })
        opt.step()

    # Per tensor: the largest difference of the final weights over the largest move the steps made (final - init),
    # so a wrongly decayed or untrained gate shows at once; and, over every element, the mean difference in units of
    # lr (a step moves an element by about lr: Adam's update is normalised).
    lr = max(s["lr"] for s in run["steps"])
    moved = {n: (p.detach() - dump[f"final.{n}"]).abs().max().item()
             / max((dump[f"final.{n}"] - dump[f"init.{n}"]).abs().max().item(), 1e-30) for n, p in model.named_parameters()}
    worst = max(moved, key=moved.get)
    diffs = torch.cat([(p.detach() - dump[f"final.{n}"]).abs().flatten() for n, p in model.named_parameters()])
    print(json.dumps({"torch": torch.__version__, "steps": steps, "weights": len(moved),
                      "update_rel_max": moved[worst], "update_worst": worst, "weight_abs_max_over_lr": diffs.max().item() / lr,
                      "weight_abs_mean_over_lr": diffs.mean().item() / lr}))

if __name__ == "__main__":
    main(sys.argv[1])
