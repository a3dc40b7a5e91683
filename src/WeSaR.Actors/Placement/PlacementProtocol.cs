using Akka.Actor;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;

namespace WeSaR.Actors.Placement;

/// <summary>
/// One start of one run: where it resumes, which attempt it is, and the coordinator that records it.
/// The placement seam: a coordinator hands these to a placement actor and hears back <see cref="RunPlaced"/>;
/// on one machine that is <see cref="LocalPlacement"/>, in a cluster a sharded one, with the same messages.
/// </summary>
public sealed record PlaceRun(SweepId Sweep, RunSpec Spec, ResumePoint Resume, int Attempt, int Restarts, int Rollbacks, IActorRef Coordinator);

/// <summary>Stop every run of the sweep gracefully and drop its queued ones; replied to with <see cref="RunsStopped"/>.</summary>
public sealed record StopRuns(SweepId Sweep);

public sealed record RunsStopped
{
    public static readonly RunsStopped Instance = new();
}

/// <summary>A device supervisor's slot is free again.</summary>
public sealed record SlotFreed(string Slot);

/// <summary>What every slot on this machine shares: the work folder, the restart budget and ask timeouts.</summary>
public sealed record SlotContext(string Workdir, RestartSettings Restarts, TimeSpan AskTimeout, string Node);
