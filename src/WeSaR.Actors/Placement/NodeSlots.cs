using Akka.Actor;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Placement;

/// <summary>
/// A node's training slots (at /user/slots): one <see cref="DeviceSupervisor"/> per configured slot. It offers
/// them to whichever placement asks last (a new coordinator after a fail-over replaces the old one) and tells
/// that placement when a slot frees up.
/// </summary>
public sealed class NodeSlots : ReceiveActor
{
    public const string Name = "slots";

    readonly Dictionary<IActorRef, SlotSpec> supervisors = new();
    readonly HashSet<IActorRef> busy = [];
    readonly string node;
    IActorRef? placement;
    bool draining;

    public static Props Props(IReadOnlyList<SlotSpec> slots, SlotContext deps) => Akka.Actor.Props.Create(() => new NodeSlots(slots, deps));

    public NodeSlots(IReadOnlyList<SlotSpec> specs, SlotContext deps)
    {
        node = deps.Node;
        foreach (var s in specs) supervisors[Context.ActorOf(DeviceSupervisor.Props(s, deps), s.Name)] = s;
        Receive<OfferSlots>(o =>
        {
            if (draining) return;
            placement = o.Placement;
            placement.Tell(new SlotsOffered(node, supervisors.Select(kv => new SlotOffer(kv.Value, kv.Key, busy.Contains(kv.Key))).ToList()));
        });
        Receive<SlotTaken>(_ => { busy.Add(Sender); PublishUse(); });
        Receive<SlotFreed>(f =>
        {
            busy.Remove(f.Supervisor);
            PublishUse();
            if (!draining) placement?.Tell(f);
        });
        Receive<DrainNode>(_ =>
        {
            draining = true;
            var replyTo = Sender;
            Task.WhenAll(supervisors.Keys.Select(s => s.Ask<RunsStopped>(DrainNode.Instance, Timeout.InfiniteTimeSpan)))
                .PipeTo(replyTo, success: _ => RunsStopped.Instance);
        });
    }

    protected override void PreStart() => PublishUse();

    void PublishUse() => Context.System.EventStream.Publish(new SlotUse(node, busy.Count, supervisors.Count));
}
