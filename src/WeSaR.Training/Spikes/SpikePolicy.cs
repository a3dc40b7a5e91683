namespace WeSaR.Training.Spikes;

/// <summary>
/// The one spike policy of a run: its detectors over the stream, the rollback rule and the count of rollbacks
/// taken. `wesar train` holds it in-process; the spike-monitor actor wraps the same object and only adds the
/// journal (a decision is persisted before it is <see cref="Taken"/>).
/// </summary>
public sealed class SpikePolicy(SpikeSettings settings, int rollbacksSoFar = 0)
{
    SpikeWatch watch = SpikeWatch.From(settings);

    public int Rollbacks { get; private set; } = rollbacksSoFar;

    /// <summary>Rebuilds the detectors from the run's surviving history (at the start and after every rollback).</summary>
    public void Reset(IEnumerable<StreamPoint> history)
    {
        watch = SpikeWatch.From(settings);
        foreach (var p in history) watch.Observe(p);
    }

    public SpikeSignal? Observe(StreamPoint point) => watch.Observe(point);

    /// <param name="committed">Steps of the committed checkpoints on disk, oldest first.</param>
    public SpikeDecision Decide(SpikeSignal spike, IReadOnlyList<long> committed) =>
        RollbackPolicy.Decide(spike, committed, Rollbacks, settings.Rollback);

    /// <summary>The decision is being carried out: a rollback counts against spike.rollback.max from now on.</summary>
    public void Taken(SpikeDecision decision)
    {
        if (decision.Rollback is not null) Rollbacks++;
    }
}
