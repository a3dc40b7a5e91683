namespace WeSaR.Training.Spikes;

/// <summary>
/// Undo a spike: go back to the checkpoint at <c>ToStep</c> (0: the fresh initialisation), skip
/// <c>SkipBatches</c> batches of data and multiply the learning rate by <c>LrScale</c>.
/// </summary>
public sealed record RollbackOrder(long FromStep, long ToStep, long SkipBatches, double LrScale);

/// <summary>What to do about a spike: go on (report only), roll back, or fail the run with a reason.</summary>
public sealed record SpikeDecision(RollbackOrder? Rollback, string? Failure)
{
    public static readonly SpikeDecision Continue = new(null, null);
}

/// <summary>
/// The rollback rule, a pure function so that a journal replay, a resumed process and an uninterrupted run all
/// take the same decision for the same spike (PaLM §5.1: restart ~100 steps before the spike, skip ~200-500 batches).
/// </summary>
public static class RollbackPolicy
{
    /// <param name="committed">Steps of the checkpoints that are committed and kept, oldest first.</param>
    /// <param name="rollbacksSoFar">Rollbacks this run has already made.</param>
    public static SpikeDecision Decide(SpikeSignal spike, IReadOnlyList<long> committed, int rollbacksSoFar, RollbackSettings s)
    {
        if (!s.Enabled) return SpikeDecision.Continue;
        var divergence = spike.Rule == DivergenceDetector.Rule;
        if (rollbacksSoFar >= s.Max)
            return new(null, divergence
                ? $"diverged: mean loss {spike.Value:F3} at step {spike.Step} rose above {spike.Threshold:F3} after {rollbacksSoFar} rollback(s) with a lower learning rate; spike.rollback.max is {s.Max}"
                : $"{spike.Rule} spike on {spike.Metric} at step {spike.Step} after {rollbacksSoFar} rollback(s); spike.rollback.max is {s.Max}");
        // The newest checkpoint at least `Margin` steps before the spike (or before the start the rule dates it from);
        // before any, the initialisation.
        var to = committed.LastOrDefault(step => step <= Math.Min(spike.Step - 1, spike.Since ?? long.MaxValue) - s.Margin);
        // The batches of steps to+1..spike are the ones that led into it.
        // A divergence is the learning rate's doing, not the data's: going back without lowering it would repeat it.
        return new(new RollbackOrder(spike.Step, to, s.SkipData ? spike.Step - to : 0, s.LrScale * (divergence ? s.DivergenceLrScale : 1)), null);
    }
}
