namespace WeSaR.Cli;

/// <summary>
/// How long a sweep has left: the running runs' own ETAs, plus the runs without one at the mean time per step
/// measured so far (on running and ended runs), spread over the slots. An estimate for planning (runs on one machine
/// share its cores).
/// </summary>
public static class SweepEta
{
    /// <param name="Remaining">Steps left.</param>
    /// <param name="Eta">The run's own estimate; null if it has not measured a step yet.</param>
    public sealed record RunLeft(long Remaining, TimeSpan? Eta);

    /// <param name="paces">Seconds per step measured so far, one per run that has measured any.</param>
    /// <returns>Null until some run has measured its speed, or when nothing is left.</returns>
    public static TimeSpan? Of(IReadOnlyList<RunLeft> runs, IReadOnlyList<double> paces, int slots)
    {
        var left = runs.Where(r => r.Remaining > 0).ToList();
        if (left.Count == 0 || paces.Count == 0) return null;
        var pace = paces.Average();
        var work = left.Sum(r => r.Eta?.TotalSeconds ?? r.Remaining * pace);
        // No more slots work at once than there are runs left; the longest run bounds the rest from below.
        var parallel = Math.Clamp(slots, 1, left.Count);
        return TimeSpan.FromSeconds(Math.Max(work / parallel, left.Max(r => r.Eta?.TotalSeconds ?? 0)));
    }
}
