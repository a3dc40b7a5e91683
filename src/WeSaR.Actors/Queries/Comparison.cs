using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;

namespace WeSaR.Actors.Queries;

/// <summary>One group of runs that share the compared keys: final validation loss over its completed runs, spikes over all.</summary>
public sealed record ComparisonCell(IReadOnlyList<string> Keys, int Runs, int Completed, double? LossMean, double? LossStd, double SpikesMean,
    double RollbacksMean, bool BestInColumn);

/// <summary>
/// `sweep compare --by a,b`: runs grouped by the values of the keys (typically over seeds). With two keys the
/// first names the rows and the second the columns; the lowest mean loss of each column is marked best.
/// </summary>
public static class Comparison
{
    /// <summary>What is wrong with the keys of --by, or null: each must be a short name or a key of a run's config.</summary>
    public static string? Problem(IReadOnlyList<string> by)
    {
        if (by.Count == 0) return "--by needs at least one key";
        var known = RunRecord.ShortKeys.Concat(ConfigLoader.Leaves(ConfigLoader.Defaults.Root, "")).ToList();
        var unknown = by.Where(k => !known.Contains(k)).Select(k => "--by " + ConfigLoader.UnknownKey(k, known)).ToList();
        return unknown.Count > 0 ? string.Join("; ", unknown) : null;
    }

    public static IReadOnlyList<ComparisonCell> Build(IEnumerable<RunRecord> runs, IReadOnlyList<string> by)
    {
        var groups = runs.GroupBy(r => string.Join("\u001f", by.Select(r.Key)))
            .Select(g =>
            {
                var losses = g.Where(r => r.State == RunPhase.Completed && r.ValLoss is not null).Select(r => r.ValLoss!.Value).ToList();
                double? mean = losses.Count > 0 ? losses.Average() : null;
                double? std = losses.Count > 1 ? Math.Sqrt(losses.Sum(x => (x - mean!.Value) * (x - mean.Value)) / (losses.Count - 1)) : null;
                return new ComparisonCell(by.Select(g.First().Key).ToList(), g.Count(), losses.Count, mean, std,
                    g.Average(r => r.Spikes), g.Average(r => r.Rollbacks), false);
            }).ToList();
        // The column is the last key (all groups when there is one key).
        return groups.Select(c =>
        {
            var column = groups.Where(o => by.Count < 2 || o.Keys[^1] == c.Keys[^1]).Where(o => o.LossMean is not null).ToList();
            return c with { BestInColumn = c.LossMean is not null && c.LossMean == column.Min(o => o.LossMean) };
        }).OrderBy(c => string.Join(" ", c.Keys), StringComparer.Ordinal).ToList();
    }
}
