using Akka.Actor;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;

namespace WeSaR.Actors.Placement;

// Messages between a coordinator, the Placement and the slots of each node. In a cluster they cross the network.

/// <summary>
/// One start of one run: where it resumes, which attempt it is, and the coordinator that records it.
/// The placement seam: a coordinator hands these to the <see cref="Placement"/> and hears back <see cref="RunPlaced"/>,
/// or <see cref="RunOrphaned"/> when the node it ran on is gone.
/// </summary>
public sealed record PlaceRun(SweepId Sweep, RunSpec Spec, ResumePoint Resume, int Attempt, int Restarts, int Rollbacks, IActorRef Coordinator);

/// <summary>The slot a run was on is gone (its node left or was downed) before the run ended; place it again.</summary>
public sealed record RunOrphaned(RunId Run, string Node);

/// <summary>Stop every run of the sweep gracefully and drop its queued ones; replied to with <see cref="RunsStopped"/>.</summary>
public sealed record StopRuns(SweepId Sweep);

public sealed record RunsStopped
{
    public static readonly RunsStopped Instance = new();
}

/// <summary>Sent to a node's <see cref="NodeSlots"/>: offer your slots to this placement (it replaces any earlier one).</summary>
public sealed record OfferSlots(IActorRef Placement);

/// <summary>One slot of a node: its supervisor, and whether it is still busy with a run from an earlier placement.</summary>
public sealed record SlotOffer(SlotSpec Spec, IActorRef Supervisor, bool Busy);

public sealed record SlotsOffered(string Node, IReadOnlyList<SlotOffer> Slots);

/// <summary>A device supervisor's slot is free again (sent to its node, which tells its placement).</summary>
public sealed record SlotFreed(IActorRef Supervisor);

/// <summary>A supervisor tells its node that it took work (so a later placement sees the slot as busy).</summary>
public sealed record SlotTaken
{
    public static readonly SlotTaken Instance = new();
}

/// <summary>A slot got work while it still had some (a placement that did not know it); the work goes back to the queue.</summary>
public sealed record SlotBusy(PlaceRun Work);

/// <summary>The node is leaving: stop every run with a checkpoint and offer no slot again; replied to with <see cref="RunsStopped"/>.</summary>
public sealed record DrainNode
{
    public static readonly DrainNode Instance = new();
}

/// <summary>What every slot on this machine shares: the folder for run folders and data, the restart budget, ask timeouts and the node's name.</summary>
public sealed record SlotContext(string SharedDir, RestartSettings Restarts, TimeSpan AskTimeout, string Node);
