using static TorchSharp.torch.utils.tensorboard;

namespace WeSaR.Training.Loop;

/// <summary>
/// TensorBoard event files in &lt;run dir&gt;/tensorboard (point TensorBoard at a run folder or a sweep folder):
/// train/loss, train/grad_norm, train/lr, train/tokens_per_s, val/loss, val/ppl, and on measured steps
/// update_ratio/&lt;matrix&gt; and gate/&lt;matrix&gt;. A resumed or rolled-back run writes the redone steps again;
/// TensorBoard shows the latest value per step.
/// </summary>
public sealed class TensorBoardLog(string runDir)
{
    public const string Folder = "tensorboard";
    readonly TorchSharp.Modules.SummaryWriter writer = SummaryWriter(Path.Combine(runDir, Folder));

    public void Write(MetricsLine m)
    {
        var step = (int)m.Step;
        writer.add_scalar("train/loss", (float)m.Loss, step);
        writer.add_scalar("train/grad_norm", (float)m.GradNorm, step);
        writer.add_scalar("train/lr", (float)m.Lr, step);
        writer.add_scalar("train/tokens_per_s", (float)m.TokensPerS, step);
        if (m.ValLoss is { } v) writer.add_scalar("val/loss", (float)v, step);
        if (m.ValPpl is { } p) writer.add_scalar("val/ppl", (float)p, step);
        foreach (var (name, r) in m.UpdateRatio ?? new Dictionary<string, double>()) writer.add_scalar($"update_ratio/{name}", (float)r, step);
        foreach (var (name, g) in m.Gate ?? new Dictionary<string, double>()) writer.add_scalar($"gate/{name}", (float)g, step);
    }
}
