namespace WeSaR.Training.Loop;

/// <summary>
/// Whether a run's memory grows once it has warmed up, judged from the measured lines of metrics.jsonl over the
/// second half of the run. Two signals: native tensors alive after each step (exact: any growth is a leak), and a
/// least-squares slope of RSS (allocator caches fill during warm-up and then hold, so only late growth counts).
/// </summary>
public sealed record MemoryTrend(long FromStep, long ToStep, long TensorGrowth, double RssGrowthMb, double RssMeanMb)
{
    /// <summary>RSS may drift this much over the window (fraction of its mean, or this many MiB, whichever is larger).</summary>
    public const double RssTolerance = 0.10, RssToleranceMb = 64;

    public bool Leaks => TensorGrowth != 0 || RssGrowthMb > Math.Max(RssTolerance * RssMeanMb, RssToleranceMb);

    public override string ToString() =>
        $"steps {FromStep}-{ToStep}: live tensors {TensorGrowth:+#;-#;0}, RSS {RssGrowthMb:+0.0;-0.0} MiB (fitted) around {RssMeanMb:F0} MiB";

    public static MemoryTrend Of(IReadOnlyList<MetricsLine> lines)
    {
        var measured = lines.Where(l => l.LiveTensors is not null).OrderBy(l => l.Step).ToList();
        if (measured.Count < 4) throw new ArgumentException($"need at least 4 measured steps, got {measured.Count}");
        // By step, not by count: early training is measured every step, the rest every measure-interval.
        var late = measured.Where(l => l.Step >= measured[^1].Step / 2).ToList();
        if (late.Count < 2) throw new ArgumentException($"need at least 2 measured steps in the second half, got {late.Count}");
        var (x, y) = (late.Select(l => (double)l.Step).ToArray(), late.Select(l => l.RssMb).ToArray());
        var (mx, my) = (x.Average(), y.Average());
        var slope = x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my)) / x.Sum(v => (v - mx) * (v - mx));
        return new(late[0].Step, late[^1].Step, late[^1].LiveTensors!.Value - late[0].LiveTensors!.Value,
            slope * (late[^1].Step - late[0].Step), my);
    }
}
