using Akka.Actor;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Sweeps;

// Messages of the SweepCoordinator. Replies are noted on each command and live beside it.

/// <summary>
/// A message that crosses the network in a cluster (between nodes, or from a client): bound to the
/// <see cref="Persistence.ProtocolSerializer"/> under a versioned manifest, as events are, and never left to a
/// default serializer that writes .NET type names. Every node of a cluster runs the same wesar version.
/// </summary>
public interface IWireMessage;

/// <summary>Start (with a definition) or continue (without) the sweep; replied to with <see cref="SweepFinished"/> once every run has ended, or <see cref="SweepRejected"/>.</summary>
public sealed record Begin(SweepDefinition? Definition);

public sealed record SweepFinished(SweepState State);

/// <summary>
/// The sweep stopped by itself with nothing lost (a full disk, a journal that cannot be written); it resumes once
/// the cause is fixed. <c>JournalOutage</c>: the journal's server stopped answering, which may pass by itself.
/// </summary>
public sealed record SweepHalted(string Reason, bool JournalOutage = false);

public sealed record SweepRejected(string Reason) : IWireMessage
{
    /// <summary>The one wording for a sweep id the journal does not hold; <paramref name="where"/> names the journal.</summary>
    public static string NoSweep(string id, string where) => $"no sweep '{id}' in {where} (see `wesar sweep list`)";
}

/// <summary>Give failed runs another go (see <see cref="SweepState.Retry"/>); replied to with <see cref="Ack"/> once persisted, or <see cref="SweepRejected"/>.</summary>
public sealed record RetryRuns(IReadOnlyList<string>? Runs);

/// <summary>Stop every run gracefully (each checkpoints and commits first); replied to with <see cref="SweepStopped"/>.</summary>
public sealed record StopSweep
{
    public static readonly StopSweep Instance = new();
}

public sealed record SweepStopped
{
    public static readonly SweepStopped Instance = new();
}

/// <summary>Replied to with the current <see cref="SweepState"/>.</summary>
public sealed record GetSweepState
{
    public static readonly GetSweepState Instance = new();
}

/// <summary>The placement put a run on a slot (for its <c>Attempt</c>-th start).</summary>
public sealed record RunPlaced(RunId Run, string Node, string Slot, string Device, int Attempt);

/// <summary>The slot a run was on is gone (its node left or was downed) before the run ended; place it again.</summary>
public sealed record RunOrphaned(RunId Run, string Node);

/// <summary>A trainer wrote a checkpoint; replied to with <see cref="Ack"/> once it is persisted.</summary>
public sealed record CommitCheckpoint(RunId Run, long Step, string ManifestSha256) : IWireMessage;

/// <summary>A trainer passed over damaged or missing checkpoints and starts at <c>StartsFrom</c>; replied to with <see cref="Ack"/> once persisted.</summary>
public sealed record RejectCheckpoints(RunId Run, IReadOnlyList<RejectedCheckpoint> Rejected, ResumePoint StartsFrom) : IWireMessage;

/// <summary>A spike monitor's decision about a spike; replied to with <see cref="Ack"/> once it is persisted.</summary>
public sealed record RecordSpike(RunId Run, SpikeSignal Spike, SpikeDecision Decision, string? TargetManifestSha256) : IWireMessage;

/// <summary>The early warning raised or cleared a run's spike risk; replied to with <see cref="Ack"/> once it is persisted.</summary>
public sealed record RecordRisk(RunId Run, RiskSignal Signal) : IWireMessage;

/// <summary>A spike's step was replayed with this verdict; replied to with <see cref="Ack"/> once it is persisted.</summary>
public sealed record RecordVerdict(RunId Run, SpikeVerdict Verdict) : IWireMessage;

/// <summary>A trainer's loop returned (finished, failed by the spike policy, or stopped by <see cref="StopSweep"/>).</summary>
public sealed record RunEnded(RunId Run, RunSummary Summary) : IWireMessage;

/// <summary>
/// A trainer crashed; replied to with <see cref="RestartRun"/> while the retry budget lasts, else <see cref="RunGivenUp"/>.
/// <c>Environment</c> names a fault of the machine (a full disk): no restart is spent and the sweep stops.
/// </summary>
public sealed record RunCrashed(RunId Run, string Reason, string? Environment = null) : IWireMessage;

// The two replies to RunCrashed go to the run's DeviceSupervisor; they stay beside the command they answer
// because the coordinator does not know the Placement namespace.

/// <summary>Start the run again from <c>Resume</c> after a backoff.</summary>
public sealed record RestartRun(ResumePoint Resume, int Attempt, int Restarts, int Rollbacks) : IWireMessage;

/// <summary>The retry budget is spent; the run is recorded as failed.</summary>
public sealed record RunGivenUp(string Reason) : IWireMessage;

public sealed record Ack : IWireMessage
{
    public static readonly Ack Instance = new();
}

/// <summary>Published on the event stream whenever a run's journal state changes.</summary>
public sealed record RunChanged(SweepId Sweep, RunStatus Run);

/// <summary>Published on the event stream after each atomic journal write: how many events, and how long from the write to its confirmation.</summary>
public sealed record JournalWritten(SweepId Sweep, int Events, TimeSpan Latency);

/// <summary>Everything a coordinator needs besides its id.</summary>
public sealed record CoordinatorContext(IActorRef Placement, int SnapshotEvery);
