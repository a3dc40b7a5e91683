using System.Text.Json.Serialization;

namespace WeSaR.Actors.Sweeps;

/// <summary>
/// Everything the sweep coordinator persists. Each event is bound to <see cref="Persistence.ProtocolSerializer"/>
/// under a versioned manifest ("SweepStarted.v1"); a changed shape gets a new version, old ones stay readable.
/// </summary>
public interface ISweepEvent
{
    SweepId Sweep { get; }
}

/// <summary>An event about one run of the sweep (tagged with the run for queries).</summary>
public interface IRunEvent : ISweepEvent
{
    RunId Run { get; }
}

/// <summary>The sweep and every run in it, with the config each will train with.</summary>
public sealed record SweepStarted(SweepId Sweep, string Name, IReadOnlyList<RunSpec> Runs, int MaxRestarts, DateTime AtUtc) : ISweepEvent;

public sealed record RunScheduled(SweepId Sweep, RunId Run) : IRunEvent;

/// <summary>A run was given to a trainer on a node's slot; <c>Attempt</c> counts its starts (0 first).</summary>
public sealed record RunAssigned(SweepId Sweep, RunId Run, string Node, string Slot, string Device, int Attempt) : IRunEvent;

/// <summary>A checkpoint is on disk with this manifest hash; a resume starts from the newest one.</summary>
public sealed record CheckpointCommitted(SweepId Sweep, RunId Run, long Step, string ManifestSha256) : IRunEvent;

/// <summary>
/// At its start the run found the checkpoint at <c>Step</c> damaged or missing (<c>Reason</c>) and continues from the
/// newest older one that verifies, at <c>ResumeStep</c> with manifest hash <c>ResumeManifestSha256</c> (0 and null:
/// the initialisation). Not a crash: no restart is spent.
/// </summary>
public sealed record CheckpointRejected(SweepId Sweep, RunId Run, long Step, string Reason, long ResumeStep, string? ResumeManifestSha256) : IRunEvent;

public sealed record SpikeDetected(SweepId Sweep, RunId Run, long Step, string Rule, string Metric, double Value, double Mean,
    double Std, double Threshold) : IRunEvent;

/// <summary>
/// The early warning (spike.risk) raised the run's spike risk at <c>Step</c>: <c>Rule</c> ("max-ratio" or "spread")
/// saw <c>Matrix</c>'s update ratio at <c>Value</c> past <c>Threshold</c> for enough measurements in a row.
/// </summary>
public sealed record SpikeRiskRaised(SweepId Sweep, RunId Run, long Step, string Rule, string Matrix, double Value, double Threshold) : IRunEvent;

/// <summary>The run's spike risk cleared at <c>Step</c>: the largest update ratio (<c>Matrix</c>'s, <c>Value</c>) stayed within the bounds long enough.</summary>
public sealed record SpikeRiskCleared(SweepId Sweep, RunId Run, long Step, string Matrix, double Value) : IRunEvent;

/// <summary>
/// The step of a spike (<c>Rule</c> on <c>Metric</c>) at <c>Step</c> was run again from the state before it
/// (spike.replay). <c>Verdict</c> "transient": the replay did not spike, so the replayed step stands and nothing is
/// rolled back; "reproducible": it spiked again, and the spike's decision follows. <c>Loss</c> and <c>ReplayLoss</c>
/// are the two runs' losses; <c>Identical</c> says they and the gradient norms matched bit for bit.
/// </summary>
public sealed record SpikeClassified(SweepId Sweep, RunId Run, long Step, string Verdict, string Rule, string Metric, double Loss, double ReplayLoss,
    bool Identical) : IRunEvent;

/// <summary>
/// The run goes back to the checkpoint at <c>ToStep</c> (0: the initialisation) whose manifest hash is
/// <c>ToManifestSha256</c>, skips <c>SkipBatches</c> batches and multiplies its learning rate by <c>LrScale</c>.
/// Named as in <see cref="WeSaR.Training.Spikes.RollbackOrder"/>; the JSON keeps the v1 name.
/// </summary>
public sealed record RolledBack(SweepId Sweep, RunId Run, long FromStep, long ToStep, string? ToManifestSha256,
    [property: JsonPropertyName("skippedBatches")] long SkipBatches, double LrScale) : IRunEvent;

/// <summary>A crashed trainer is started again (attempt <c>Attempt</c>) from the last committed checkpoint.</summary>
public sealed record RunRestarted(SweepId Sweep, RunId Run, int Attempt, string Reason) : IRunEvent;

/// <summary>The figures a finished run ends with; <c>ModelSha256</c> identifies its final weights bit for bit.</summary>
public sealed record FinalMetrics(long Step, double? ValLoss, double? ValPpl, double? LastLoss, double TokensPerS, string? ModelSha256,
    int Spikes, int Rollbacks);

public sealed record RunCompleted(SweepId Sweep, RunId Run, FinalMetrics Metrics) : IRunEvent;

public sealed record RunFailed(SweepId Sweep, RunId Run, long Step, string Reason) : IRunEvent;

/// <summary>
/// A fault of the machine (<c>Reason</c>: a full disk, say) stopped the run and halted the sweep; no restart was spent,
/// and a resume continues the run from step <c>Step</c>, its last committed checkpoint. Not an end: the next start clears it.
/// </summary>
public sealed record RunInterrupted(SweepId Sweep, RunId Run, long Step, string Reason) : IRunEvent;

/// <summary>
/// `wesar sweep retry`: a failed or interrupted run gets another go from its resume point (its last committed checkpoint), with a
/// fresh restart budget; <c>Failure</c> is why it had stopped. The sweep runs again until this run ends.
/// </summary>
public sealed record RunRetried(SweepId Sweep, RunId Run, string Failure, DateTime AtUtc) : IRunEvent;

public sealed record SweepCompleted(SweepId Sweep, int Completed, int Failed, DateTime AtUtc) : ISweepEvent;
