namespace WeSaR.Training.Spikes;

/// <summary>
/// spike.risk.*: the early warning from update ratios. <c>MaxRatio</c>: the largest |ΔW|/|W| of any matrix in one
/// step; <c>Spread</c>: the largest over the median of all matrices (the paper's Figure 1, W_d far above the rest);
/// <c>Consecutive</c> measurements past either raise the risk, as many within both clear it. While raised: a
/// checkpoint every <c>CheckpointInterval</c> steps (0: the usual cadence), ratios measured every step, and the
/// learning rate times <c>LrScale</c>.
/// </summary>
public sealed record RiskSettings(bool Enabled, double MaxRatio, double Spread, int Consecutive, long CheckpointInterval, double LrScale)
{
    public static readonly RiskSettings Off = new(false, double.PositiveInfinity, double.PositiveInfinity, 1, 0, 1);
}

/// <summary>
/// A change of a run's spike risk at <c>Step</c>: raised (<c>Raised</c>) or cleared. <c>Rule</c> ("max-ratio" or
/// "spread") and <c>Matrix</c> name what crossed <c>Threshold</c> with <c>Value</c>; a clearing names the last
/// measurement's largest matrix and its value against the max-ratio bound.
/// </summary>
public sealed record RiskSignal(long Step, bool Raised, string Rule, string Matrix, double Value, double Threshold);

/// <summary>Where the risk rule stands between measurements; saved with checkpoints, so a resume or rollback raises and clears as the live run did.</summary>
public sealed record RiskState(bool Raised, int Streak)
{
    public static readonly RiskState Calm = new(false, 0);
}

/// <summary>The early-warning rule over one measured step's update ratios at a time; deterministic, so its state is all it needs.</summary>
public sealed class SpikeRisk(RiskSettings settings)
{
    public RiskState State { get; set; } = RiskState.Calm;

    public bool Raised => State.Raised;

    /// <summary>The learning-rate multiplier the risk asks for now.</summary>
    public double LrScale => Raised ? settings.LrScale : 1.0;

    /// <summary>The checkpoint interval while the risk is raised, else <paramref name="usual"/>.</summary>
    public long CheckpointInterval(long usual) => Raised && settings.CheckpointInterval > 0 ? settings.CheckpointInterval : usual;

    /// <param name="ratios">Update ratio per matrix of one measured step.</param>
    /// <returns>The change this measurement makes, or null.</returns>
    public RiskSignal? Observe(long step, IReadOnlyDictionary<string, double> ratios)
    {
        if (!settings.Enabled || ratios.Count == 0) return null;
        // A non-finite ratio (which ordering ranks lowest) is past every bound.
        var (matrix, max) = ratios.FirstOrDefault(kv => !double.IsFinite(kv.Value)) is { Key: not null } bad ? bad : ratios.MaxBy(kv => kv.Value);
        var median = Statistics.Median(ratios.Values);
        var past = !double.IsFinite(max) || max > settings.MaxRatio ? ("max-ratio", max, settings.MaxRatio)
            : max > settings.Spread * median ? ("spread", max / median, settings.Spread)
            : default((string Rule, double Value, double Threshold)?);
        var streak = past.HasValue == State.Raised ? 0 : State.Streak + 1;
        if (streak < settings.Consecutive)
        {
            State = State with { Streak = streak };
            return null;
        }
        State = new RiskState(!State.Raised, 0);
        return past is { } p ? new(step, true, p.Rule, matrix, p.Value, p.Threshold) : new(step, false, "max-ratio", matrix, max, settings.MaxRatio);
    }
}
