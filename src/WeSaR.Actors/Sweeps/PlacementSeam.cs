using Akka.Actor;
using WeSaR.Training.Loop;

namespace WeSaR.Actors.Sweeps;

// The placement seam: what a coordinator asks of whatever places its runs. It lives beside the coordinator so
// that Placement and Runs depend on Sweeps and never the other way round. The placement's answers
// (RunPlaced, RunOrphaned) are coordinator messages, in SweepProtocol.cs.

/// <summary>
/// One start of one run: where it resumes, which attempt it is, and the coordinator that records it.
/// A coordinator hands these to the placement and hears back <see cref="RunPlaced"/>,
/// or <see cref="RunOrphaned"/> when the node it ran on is gone.
/// </summary>
public sealed record PlaceRun(SweepId Sweep, RunSpec Spec, ResumePoint Resume, int Attempt, int Restarts, int Rollbacks, IActorRef Coordinator) : IWireMessage;

/// <summary>Stop every run of the sweep gracefully and drop its queued ones; replied to with <see cref="RunsStopped"/>.</summary>
public sealed record StopRuns(SweepId Sweep) : IWireMessage;

public sealed record RunsStopped : IWireMessage
{
    public static readonly RunsStopped Instance = new();
}
