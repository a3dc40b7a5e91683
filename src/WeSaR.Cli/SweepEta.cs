namespace WeSaR.Cli;

/// <summary>
/// How long a sweep has left: the running runs' own ETAs, plus the runs not started yet at the mean time per step
/// of those measured so far, spread over the slots. An estimate for planning (runs on one machine share its cores).
/// </summary>
public static class SweepEta
{
    /// <param name="Remaining">Steps left.</param>
    /// <param name="Eta">The run's own estimate; null if it has not measured a step yet.</param>
    public sealed record RunLeft(long Remaining, TimeSpan? Eta);

    /// <summary>Null until some run has measured its speed, or when nothing is left.</summary>
    public static TimeSpan? Of(IReadOnlyList<RunLeft> runs, int slots)
    {
        var left = runs.Where(r => r.Remaining > 0).ToList();
        var measured = left.Where(r => r.Eta is not null).ToList();
        if (left.Count == 0 || measured.Count == 0) return null;
        var secondsPerStep = measured.Average(r => r.Eta!.Value.TotalSeconds / r.Remaining);
        var work = left.Sum(r => r.Eta?.TotalSeconds ?? r.Remaining * secondsPerStep);
        // No more slots work at once than there are runs left; the longest run bounds the rest from below.
        var parallel = Math.Clamp(slots, 1, left.Count);
        return TimeSpan.FromSeconds(Math.Max(work / parallel, measured.Max(r => r.Eta!.Value.TotalSeconds)));
    }
}
