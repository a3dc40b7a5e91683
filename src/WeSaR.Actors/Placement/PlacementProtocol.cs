using Akka.Actor;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Placement;

// Messages between the PlacementActor and the slots of each node (what a coordinator sends it is in Sweeps/PlacementSeam.cs).
// In a cluster they cross the network (those that do are IWireMessage).

/// <summary>Sent to a node's <see cref="NodeSlots"/>: offer your slots to this placement (it replaces any earlier one).</summary>
public sealed record OfferSlots(IActorRef Placement) : IWireMessage;

/// <summary>One slot of a node: its supervisor, and whether it is still busy with a run from an earlier placement.</summary>
public sealed record SlotOffer(SlotSpec Spec, IActorRef Supervisor, bool Busy);

public sealed record SlotsOffered(string Node, IReadOnlyList<SlotOffer> Slots) : IWireMessage;

/// <summary>A device supervisor's slot is free again (sent to its node, which tells its placement).</summary>
public sealed record SlotFreed(IActorRef Supervisor) : IWireMessage;

/// <summary>A supervisor tells its node that it took work (so a later placement sees the slot as busy).</summary>
public sealed record SlotTaken
{
    public static readonly SlotTaken Instance = new();
}

/// <summary>Published on the event stream by <see cref="NodeSlots"/> when it starts and whenever a slot is taken or freed.</summary>
public sealed record SlotUse(string Node, int Busy, int Total);

/// <summary>A slot got work while it still had some (a placement that did not know it); the work goes back to the queue.</summary>
public sealed record SlotBusy(PlaceRun Work) : IWireMessage;

/// <summary>The node is leaving: stop every run with a checkpoint and offer no slot again; replied to with <see cref="RunsStopped"/>.</summary>
public sealed record DrainNode
{
    public static readonly DrainNode Instance = new();
}
