using WeSaR.Actors.Sweeps;
using WeSaR.Model.Checkpoints;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Runs;

// Messages of the TrainerActor and its SpikeMonitor, and what they publish on the event stream.

/// <summary>Stop after the current step with a committed checkpoint.</summary>
public sealed record StopTraining
{
    public static readonly StopTraining Instance = new();
}

/// <summary>Stop now, without a checkpoint: the run's coordinator is gone and cannot commit one.</summary>
public sealed record AbortTraining
{
    public static readonly AbortTraining Instance = new();
}

/// <summary>The training loop returned.</summary>
public sealed record LoopEnded(RunSummary Summary);

/// <summary>The loop's task failed; carries the cause to the supervisor.</summary>
public sealed class TrainerCrashed(Exception cause) : Exception(cause.Message, cause);

/// <summary>Rebuild the detectors from the surviving history; replied to with <see cref="Ack"/>.</summary>
public sealed record ResetStream(IReadOnlyList<StreamPoint> History);

/// <summary>One step's loss and gradient norm; replied to with a <see cref="Verdict"/>.</summary>
public sealed record ObservePoint(StreamPoint Point);

public sealed record Verdict(SpikeSignal? Spike);

/// <summary>Decide about a spike given the checkpoints on disk; replied to with the <see cref="SpikeDecision"/> once it is persisted.</summary>
public sealed record DecideSpike(SpikeSignal Spike, IReadOnlyList<CheckpointInfo> Checkpoints);

/// <summary>Published when a run starts training in this process, from <c>FromStep</c> (0, a checkpoint, a resume).</summary>
public sealed record RunStarted(SweepId Sweep, RunId Run, long FromStep, long TotalSteps);

/// <summary>Published every logged step.</summary>
public sealed record RunProgress(SweepId Sweep, RunId Run, MetricsLine Line, long TotalSteps, TimeSpan Eta);

/// <summary>
/// Published for a run's notable moments: its own message (resume, fault), or a <see cref="SpikeSignal"/>,
/// <see cref="RollbackOrder"/> or <see cref="EvalResult"/> the screen words.
/// </summary>
public sealed record RunNote(SweepId Sweep, RunId Run, object Note);
