using WeSaR.Model.Checkpoints;
using WeSaR.Training.Spikes;

namespace WeSaR.Training.Loop;

/// <summary>
/// Where a run starts. With a manifest hash: exactly that committed checkpoint. Without: the newest valid
/// checkpoint at or before <c>Step</c> (none: the initialisation). Then <c>SkipBatches</c> and <c>LrScale</c>
/// apply a rollback that was decided after that checkpoint.
/// </summary>
public sealed record ResumePoint(long Step, string? ManifestSha256 = null, long SkipBatches = 0, double LrScale = 1.0)
{
    public static readonly ResumePoint Fresh = new(0);
    public static readonly ResumePoint Newest = new(long.MaxValue);
}

/// <summary>
/// The decisions a run leaves to its owner. <see cref="LocalRunControl"/> takes them in-process for `wesar train`;
/// the orchestrator takes them in its actors and journal. Calls come from the training thread and may block.
/// </summary>
public interface IRunControl
{
    /// <summary>Rebuilds the detectors from the run's surviving history (at the start and after every rollback).</summary>
    void Reset(IReadOnlyList<StreamPoint> history);

    /// <summary>The detectors' verdict on one step.</summary>
    SpikeSignal? Observe(StreamPoint point);

    /// <param name="checkpoints">The committed checkpoints on disk, oldest first.</param>
    SpikeDecision Decide(SpikeSignal spike, IReadOnlyList<CheckpointInfo> checkpoints);

    /// <summary>A checkpoint is written; returns once it is committed, after which older ones may be pruned.</summary>
    void Committed(CheckpointInfo info);
}

/// <summary>Detection and the rollback rule in-process; the rollback count lives as long as the process.</summary>
public sealed class LocalRunControl(SpikeSettings settings) : IRunControl
{
    SpikeWatch watch = SpikeWatch.From(settings);
    int rollbacks;

    public void Reset(IReadOnlyList<StreamPoint> history)
    {
        watch = SpikeWatch.From(settings);
        foreach (var p in history) watch.Observe(p);
    }

    public SpikeSignal? Observe(StreamPoint point) => watch.Observe(point);

    public SpikeDecision Decide(SpikeSignal spike, IReadOnlyList<CheckpointInfo> checkpoints)
    {
        var d = RollbackPolicy.Decide(spike, checkpoints.Select(c => c.Step).ToList(), rollbacks, settings.Rollback);
        if (d.Rollback is not null) rollbacks++;
        return d;
    }

    public void Committed(CheckpointInfo info) { }
}
