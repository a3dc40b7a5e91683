using WeSaR.Training.Config;

namespace WeSaR.Training.Spikes;

/// <summary>Which stream a detector watches.</summary>
public enum SpikeMetric { Loss, GradNorm }

public sealed record ZScoreSettings(bool Enabled, SpikeMetric Metric, int Window, double K, int Warmup);

public sealed record RatioSettings(bool Enabled, SpikeMetric Metric, int Window, double Ratio, int Patience, int Warmup);

public sealed record DivergenceSettings(bool Enabled, int Window, double Rise);

/// <summary>spike.rollback.*: what a detected spike does to the run.</summary>
/// <param name="DivergenceLrScale">Further multiplies the learning rate after a rollback for a divergence.</param>
/// <param name="ResetMoments">Zero AdamW's moments after a rollback (SPAM, Huang et al. 2025) and warm the rate up again
/// over <c>RewarmupSteps</c>: the moments hold the spike's gradients, which the restored weights never saw.</param>
public sealed record RollbackSettings(bool Enabled, long Margin, bool SkipData, double LrScale, int Max, double DivergenceLrScale = 1.0,
    bool ResetMoments = false, long RewarmupSteps = 0);

/// <summary>
/// spike.*: the detectors to run over the loss and gradient-norm streams, the rollback policy, the early warning and
/// whether a spike's step is replayed before it is acted on (<c>Replay</c>).
/// </summary>
public sealed record SpikeSettings(bool NonFinite, ZScoreSettings ZScore, RatioSettings Ratio, DivergenceSettings Divergence, RollbackSettings Rollback,
    RiskSettings Risk, bool Replay)
{
    static readonly Dictionary<string, SpikeMetric> Metrics = new() { ["loss"] = SpikeMetric.Loss, ["grad-norm"] = SpikeMetric.GradNorm };

    public static SpikeSettings From(ConfigReader r)
    {
        var z = new ZScoreSettings(r.Bool("spike.z-score.enabled"), r.OneOf("spike.z-score.metric", Metrics),
            r.Int("spike.z-score.window", 2), r.Double("spike.z-score.k", positive: true), r.Int("spike.z-score.warmup", 2));
        var q = new RatioSettings(r.Bool("spike.ratio.enabled"), r.OneOf("spike.ratio.metric", Metrics),
            r.Int("spike.ratio.window", 1), r.Double("spike.ratio.ratio", positive: true), r.Int("spike.ratio.patience", 1), r.Int("spike.ratio.warmup", 1));
        var d = new DivergenceSettings(r.Bool("spike.divergence.enabled"), r.Int("spike.divergence.window", 1),
            r.Double("spike.divergence.rise", positive: true));
        var b = new RollbackSettings(r.Bool("spike.rollback.enabled"), r.Long("spike.rollback.margin", 0),
            r.Bool("spike.rollback.skip-data"), r.Double("spike.rollback.lr-scale", positive: true), r.Int("spike.rollback.max", 0),
            r.Double("spike.rollback.divergence-lr-scale", positive: true), r.Bool("spike.rollback.reset-moments"),
            r.Long("spike.rollback.rewarmup-steps", 0));
        var k = new RiskSettings(r.Bool("spike.risk.enabled"), r.Double("spike.risk.max-ratio", positive: true), r.Double("spike.risk.spread", positive: true),
            r.Int("spike.risk.consecutive", 1), r.Long("spike.risk.checkpoint-interval", 0), r.Double("spike.risk.lr-scale", positive: true));
        foreach (var (key, scale) in new[] { ("rollback.lr-scale", b.LrScale), ("rollback.divergence-lr-scale", b.DivergenceLrScale), ("risk.lr-scale", k.LrScale) })
            if (scale > 1) r.Problem($"spike.{key} must be at most 1, got {scale}");
        return new(r.Bool("spike.non-finite"), z, q, d, b, k, r.Bool("spike.replay"));
    }
}
