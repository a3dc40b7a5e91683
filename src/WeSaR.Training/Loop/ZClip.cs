using WeSaR.Training.Config;

namespace WeSaR.Training.Loop;

/// <summary>
/// optim.zclip.*: ZClip (Kumar et al. 2025), gradient clipping at a bound that follows the gradient norm's own
/// statistics. Defaults are the paper's: EMA factor 0.97, z threshold 2.5, 25 warm-up steps.
/// </summary>
public sealed record ZClipSettings(bool Enabled, double Alpha, double Z, int WarmupSteps)
{
    public static readonly ZClipSettings Off = new(false, 0.97, 2.5, 25);

    public static ZClipSettings From(ConfigReader r)
    {
        var s = new ZClipSettings(r.Bool("optim.zclip.enabled"), r.Double("optim.zclip.alpha", 0), r.Double("optim.zclip.z", positive: true),
            r.Int("optim.zclip.warmup-steps", 1));
        if (s.Alpha >= 1) r.Problem($"optim.zclip.alpha must be below 1, got {s.Alpha}");
        return s;
    }
}

/// <summary>
/// The gradient-norm statistics ZClip keeps (saved with every checkpoint, so a resumed run clips as the original
/// did): the norms of the warm-up steps, then an exponential mean and variance.
/// </summary>
public sealed record ZClipState(IReadOnlyList<double> WarmupNorms, double Mean, double Variance, bool Ready)
{
    public static readonly ZClipState Fresh = new([], 0, 0, false);

    const double Eps = 1e-6;

    /// <summary>
    /// Decides one step from its gradient norm: the bound to clip to (null: none) and the next statistics. During the
    /// warm-up nothing is clipped. After it, a norm whose z-score z exceeds the threshold t is clipped to
    /// mean + t·std / (z/t), so the further out a norm is, the harder it is cut ("adaptive scaling"); the statistics
    /// then take in the clipped norm, so a spike does not inflate them.
    /// </summary>
    public (double? Bound, ZClipState Next) Step(double norm, ZClipSettings s)
    {
        if (!Ready)
        {
            var seen = WarmupNorms.Append(norm).ToList();
            if (seen.Count < s.WarmupSteps) return (null, this with { WarmupNorms = seen });
            var mean = seen.Average();
            return (null, new ZClipState([], mean, seen.Average(x => (x - mean) * (x - mean)), true));
        }
        var std = Math.Sqrt(Variance);
        var z = (norm - Mean) / (std + Eps);
        double? bound = z > s.Z ? Mean + s.Z * std / (z / s.Z) : null;
        var taken = bound ?? norm;
        var nextMean = s.Alpha * Mean + (1 - s.Alpha) * taken;
        var nextVariance = s.Alpha * Variance + (1 - s.Alpha) * (taken - nextMean) * (taken - nextMean);
        return (bound, this with { Mean = nextMean, Variance = nextVariance });
    }
}
