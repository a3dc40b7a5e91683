using WeSaR.Model.Checkpoints;
using WeSaR.Training.Spikes;

namespace WeSaR.Training.Loop;

/// <summary>
/// Where a run starts. With a manifest hash: exactly that committed checkpoint. Without: the newest valid
/// checkpoint at or before <c>Step</c> (none: the initialisation). A damaged or missing one is passed over
/// (see <see cref="StartChoice"/>). Then <c>SkipBatches</c> and <c>LrScale</c>
/// apply a rollback that was decided after that checkpoint; <c>AfterRollback</c> says there was one (so the
/// optimizer moments are reset, where spike.rollback.reset-moments says so, as in the live run).
/// </summary>
public sealed record ResumePoint(long Step, string? ManifestSha256 = null, long SkipBatches = 0, double LrScale = 1.0,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    bool AfterRollback = false)
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

    /// <summary>The early warning raised or cleared the run's spike risk; returns once that is recorded.</summary>
    void RiskChanged(RiskSignal signal);

    /// <summary>A spike's step was replayed (spike.replay) with this verdict; returns once it is recorded, before any decision on it.</summary>
    void Classified(SpikeVerdict verdict);

    /// <summary>The run passed over damaged or missing checkpoints and starts at <paramref name="startsFrom"/>; returns once that is recorded.</summary>
    void Rejected(IReadOnlyList<RejectedCheckpoint> rejected, ResumePoint startsFrom);
}

/// <summary>The spike policy in-process; the rollback count lives as long as the process.</summary>
public sealed class LocalRunControl(SpikeSettings settings) : IRunControl
{
    readonly SpikePolicy policy = new(settings);

    public void Reset(IReadOnlyList<StreamPoint> history) => policy.Reset(history);

    public SpikeSignal? Observe(StreamPoint point) => policy.Observe(point);

    public SpikeDecision Decide(SpikeSignal spike, IReadOnlyList<CheckpointInfo> checkpoints)
    {
        var d = policy.Decide(spike, checkpoints.Select(c => c.Step).ToList());
        policy.Taken(d);
        return d;
    }

    public void Committed(CheckpointInfo info) { }

    public void RiskChanged(RiskSignal signal) { }

    public void Classified(SpikeVerdict verdict) { }

    // Nothing to record without a journal: the observer has already reported them.
    public void Rejected(IReadOnlyList<RejectedCheckpoint> rejected, ResumePoint startsFrom) { }
}
