namespace WeSaR.Training.Spikes;

/// <summary>One observation of the training stream.</summary>
public readonly record struct StreamPoint(long Step, double Loss, double GradNorm)
{
    public double Get(SpikeMetric m) => m == SpikeMetric.Loss ? Loss : GradNorm;
}

/// <summary>
/// A detector's verdict: which rule fired on which value, against what statistics. <c>Since</c>: where the rule
/// dates the trouble's start (the run was last known good at that step), when it is earlier than the step before.
/// </summary>
public sealed record SpikeSignal(long Step, string Rule, SpikeMetric Metric, double Value, double Mean, double Std, double Threshold, long? Since = null);

/// <summary>
/// A spike rule over the stream. Detectors are deterministic: the same points in the same order give the same
/// signals, so their state can always be rebuilt by replaying a run's metrics. Points that fire are kept out of
/// the history, so one spike does not raise the bar for the next.
/// </summary>
public interface ISpikeDetector
{
    SpikeSignal? Observe(StreamPoint p);
}

/// <summary>NaN or infinite loss or gradient norm: always a spike.</summary>
public sealed class NonFiniteDetector : ISpikeDetector
{
    public SpikeSignal? Observe(StreamPoint p) =>
        !double.IsFinite(p.Loss) ? new(p.Step, "non-finite", SpikeMetric.Loss, p.Loss, double.NaN, double.NaN, double.NaN)
        : !double.IsFinite(p.GradNorm) ? new(p.Step, "non-finite", SpikeMetric.GradNorm, p.GradNorm, double.NaN, double.NaN, double.NaN)
        : null;
}

/// <summary>OLMo-style: value &gt; mean + k·std of the previous <c>Window</c> values, once <c>Warmup</c> values are in.</summary>
public sealed class ZScoreDetector(ZScoreSettings s) : ISpikeDetector
{
    readonly Queue<double> history = new();

    public SpikeSignal? Observe(StreamPoint p)
    {
        var v = p.Get(s.Metric);
        if (!double.IsFinite(v)) return null;
        if (history.Count >= s.Warmup)
        {
            var mean = history.Average();
            var std = Math.Sqrt(history.Sum(x => (x - mean) * (x - mean)) / history.Count);
            var threshold = mean + s.K * std;
            if (v > threshold) return new(p.Step, "z-score", s.Metric, v, mean, std, threshold);
        }
        history.Enqueue(v);
        if (history.Count > s.Window) history.Dequeue();
        return null;
    }
}

/// <summary>LLM-Foundry-style: value ≥ ratio × running mean for <c>Patience</c> consecutive steps.</summary>
public sealed class RatioDetector(RatioSettings s) : ISpikeDetector
{
    readonly Queue<double> history = new();
    int streak;

    public SpikeSignal? Observe(StreamPoint p)
    {
        var v = p.Get(s.Metric);
        if (!double.IsFinite(v)) return null;
        if (history.Count >= s.Warmup)
        {
            var mean = history.Average();
            var threshold = s.Ratio * mean;
            if (v >= threshold)
            {
                if (++streak >= s.Patience)
                {
                    streak = 0;
                    return new(p.Step, "ratio", s.Metric, v, mean, double.NaN, threshold);
                }
                return null;
            }
        }
        streak = 0;
        history.Enqueue(v);
        if (history.Count > s.Window) history.Dequeue();
        return null;
    }
}

/// <summary>
/// Early divergence: the median loss of the last <c>Window</c> steps (fewer at the start) rising above its best so far
/// by the fraction <c>Rise</c>. It needs no warm-up, so a run that blows up in its first steps is caught; the median
/// leaves single-step spikes to the other rules (a divergence is a rise that lasts). Once it fires, the best is
/// reset to the current median, so a report-only run is told again only on a further rise. The signal dates the
/// trouble from before the window of the best median: a checkpoint written since may already hold the divergence
/// (its loss history does, so rolling back to it fires the rule again at once).
/// </summary>
public sealed class DivergenceDetector(DivergenceSettings s) : ISpikeDetector
{
    public const string Rule = "divergence";
    readonly Queue<double> recent = new();
    double best = double.PositiveInfinity;
    long bestSince;

    public SpikeSignal? Observe(StreamPoint p)
    {
        if (!double.IsFinite(p.Loss)) return null;
        recent.Enqueue(p.Loss);
        if (recent.Count > s.Window) recent.Dequeue();
        var median = Statistics.Median(recent);
        var threshold = best * (1 + s.Rise);
        if (median > threshold)
        {
            var signal = new SpikeSignal(p.Step, Rule, SpikeMetric.Loss, median, best, double.NaN, threshold, bestSince);
            best = median;
            return signal;
        }
        if (median <= best) (best, bestSince) = (median, p.Step - recent.Count);
        return null;
    }
}

/// <summary>All configured detectors over one stream; reports the first that fires.</summary>
public sealed class SpikeWatch(IReadOnlyList<ISpikeDetector> detectors) : ISpikeDetector
{
    public static SpikeWatch From(SpikeSettings s)
    {
        var list = new List<ISpikeDetector>();
        if (s.NonFinite) list.Add(new NonFiniteDetector());
        if (s.ZScore.Enabled) list.Add(new ZScoreDetector(s.ZScore));
        if (s.Ratio.Enabled) list.Add(new RatioDetector(s.Ratio));
        if (s.Divergence.Enabled) list.Add(new DivergenceDetector(s.Divergence));
        return new(list);
    }

    public SpikeSignal? Observe(StreamPoint p)
    {
        SpikeSignal? first = null;
        foreach (var d in detectors)
        {
            var hit = d.Observe(p); // every detector sees every point, to keep its history whole
            first ??= hit;
        }
        return first;
    }
}
