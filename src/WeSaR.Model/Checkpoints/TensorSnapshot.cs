using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WeSaR.Model.Checkpoints;

/// <summary>
/// A model's parameters and its AdamW moments and step counts, copied into tensors: taken and put back in place by
/// copy_, with nothing serialised, hashed or rebuilt, so a replay or a rollback within memory costs a few memory
/// copies. Taking one again into the same snapshot reuses its buffers.
/// </summary>
/// <param name="host">Hold the copies in host memory (on a GPU run, a copy there is slower but leaves the GPU's memory
/// to training); otherwise beside the tensors, on their device.</param>
public sealed class TensorSnapshot(bool host) : IDisposable
{
    readonly List<Tensor> copies = [];
    long[] adamSteps = [];

    /// <summary>Bytes the copies hold.</summary>
    public long Bytes => copies.Sum(t => t.NumberOfElements * t.ElementSize);

    /// <summary>Copies <paramref name="model"/>'s state and <paramref name="optimizer"/>'s into this snapshot.</summary>
    public void Take(nn.Module model, AdamW optimizer)
    {
        using var noGrad = no_grad();
        var live = Live(model, optimizer, out var steps);
        if (copies.Count != live.Count)
        {
            foreach (var c in copies) c.Dispose();
            copies.Clear();
            copies.AddRange(live.Select(t => (host && t.device_type != DeviceType.CPU ? t.cpu() : t.clone()).DetachFromDisposeScope()));
        }
        else
            for (var i = 0; i < live.Count; i++) copies[i].copy_(live[i]);
        adamSteps = steps;
    }

    /// <summary>Puts the state back into <paramref name="model"/> and <paramref name="optimizer"/> (the same shapes, in place).</summary>
    public void Restore(nn.Module model, AdamW optimizer)
    {
        using var noGrad = no_grad();
        var live = Live(model, optimizer, out _);
        if (live.Count != copies.Count) throw new InvalidOperationException($"snapshot of {copies.Count} tensors cannot fill {live.Count}");
        for (var i = 0; i < live.Count; i++) live[i].copy_(copies[i]);
        var states = AdamStates(optimizer);
        for (var i = 0; i < states.Count; i++) states[i].step = adamSteps[i];
    }

    // Parameters in module order, then every AdamW state's moments in the optimizer's order (a fixed order: see Optim).
    static List<Tensor> Live(nn.Module model, AdamW optimizer, out long[] steps)
    {
        var states = AdamStates(optimizer);
        steps = states.Select(s => s.step).ToArray();
        return [.. model.parameters(), .. states.SelectMany(s => new[] { s.exp_avg, s.exp_avg_sq })];
    }

    static List<AdamW.State> AdamStates(AdamW optimizer) => optimizer.state_dict().State.Cast<AdamW.State>().ToList();

    public void Dispose()
    {
        foreach (var c in copies) c.Dispose();
        copies.Clear();
    }
}
