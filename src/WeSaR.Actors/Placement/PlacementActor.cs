using Akka.Actor;
using Akka.Cluster;
using AkkaCluster = Akka.Cluster.Cluster;
using Akka.Event;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Placement;

/// <summary>
/// Puts runs on free slots, first come first served, spreading them over nodes (the node with the fewest busy
/// slots first). Slots are offered by each node's <see cref="NodeSlots"/>: on one machine by the local one, in a
/// cluster by every member with the trainer role as it comes up. A slot whose node is gone (its supervisor is
/// Terminated: the node left or was downed) takes its run with it, and the run's coordinator hears
/// <see cref="RunOrphaned"/> so it can place the run again from its last committed checkpoint.
/// </summary>
public sealed class PlacementActor : ReceiveActor, IWithTimers
{
    // A class, not a record: its work and busy flag change in place while it sits in the slot table.
    sealed class Slot(string node, SlotSpec spec)
    {
        public string Node { get; } = node;
        public SlotSpec Spec { get; } = spec;
        public PlaceRun? Work { get; set; }
        public bool Busy { get; set; }
    }

    sealed record AskForSlots(Address Node);

    static readonly TimeSpan OfferRetry = TimeSpan.FromSeconds(2);
    readonly ILoggingAdapter log = Context.GetLogger();
    readonly Queue<PlaceRun> queue = new();
    readonly Dictionary<IActorRef, Slot> slots = new();
    readonly List<IActorRef> order = [];   // slots in the order they were offered, for a stable choice
    readonly HashSet<Address> offered = [];
    readonly IActorRef? localSlots;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="localSlots">This machine's slots (single machine); null in a cluster, where trainer members offer theirs.</param>
    public static Props Props(IActorRef? localSlots) => Akka.Actor.Props.Create(() => new PlacementActor(localSlots));

    public PlacementActor(IActorRef? localSlots)
    {
        this.localSlots = localSlots;
        Receive<PlaceRun>(p => { queue.Enqueue(p); Dispatch(); });
        Receive<SlotsOffered>(Offered);
        Receive<SlotFreed>(f =>
        {
            if (!slots.TryGetValue(f.Supervisor, out var s)) return;
            (s.Work, s.Busy) = (null, false);
            Dispatch();
        });
        Receive<SlotBusy>(b =>
        {
            if (slots.TryGetValue(Sender, out var s)) (s.Work, s.Busy) = (null, true);   // free once it says so
            queue.Enqueue(b.Work);
            Dispatch();
        });
        Receive<Terminated>(t => SlotGone(t.ActorRef));
        Receive<StopRuns>(Stop);
        Receive<ClusterEvent.MemberUp>(m => { if (m.Member.HasRole(Roles.Trainer)) AskNode(m.Member.Address); });
        Receive<AskForSlots>(a =>
        {
            // Retry while the member is still in the cluster; a removed one has nothing to offer.
            if (AkkaCluster.Get(Context.System).State.Members.Any(m => m.Address == a.Node)) AskNode(a.Node);
        });
    }

    protected override void PreStart()
    {
        if (localSlots is not null) localSlots.Tell(new OfferSlots(Self));
        else AkkaCluster.Get(Context.System).Subscribe(Self, ClusterEvent.InitialStateAsEvents, typeof(ClusterEvent.MemberUp));
    }

    protected override void PostStop()
    {
        if (localSlots is null) AkkaCluster.Get(Context.System).Unsubscribe(Self);
    }

    // A trainer member's slots: asked until they arrive (the first message to a new member can be lost).
    void AskNode(Address node)
    {
        if (offered.Contains(node)) return;
        Context.ActorSelection(new RootActorPath(node) / "user" / NodeSlots.Name).Tell(new OfferSlots(Self));
        Timers.StartSingleTimer(node, new AskForSlots(node), OfferRetry);
    }

    void Offered(SlotsOffered o)
    {
        if (localSlots is null) offered.Add(Sender.Path.Address.HasLocalScope ? AkkaCluster.Get(Context.System).SelfAddress : Sender.Path.Address);
        foreach (var offer in o.Slots.Where(s => !slots.ContainsKey(s.Supervisor)))
        {
            slots[offer.Supervisor] = new Slot(o.Node, offer.Spec) { Busy = offer.Busy };
            order.Add(offer.Supervisor);
            Context.Watch(offer.Supervisor);
        }
        log.Info("node {0} offers {1} slot(s): {2}", o.Node, o.Slots.Count, string.Join(", ", o.Slots.Select(s => s.Spec.Name + (s.Busy ? " (busy)" : ""))));
        Dispatch();
    }

    void Dispatch()
    {
        while (queue.Count > 0)
        {
            var free = order.Where(r => slots[r] is { Work: null, Busy: false }).ToList();
            if (free.Count == 0) return;
            var load = slots.Values.Where(s => s.Work is not null || s.Busy).GroupBy(s => s.Node).ToDictionary(g => g.Key, g => g.Count());
            var target = free.MinBy(r => load.GetValueOrDefault(slots[r].Node))!;   // MinBy keeps the first of equals
            var work = queue.Dequeue();
            var slot = slots[target];
            slot.Work = work;
            target.Tell(work);
            work.Coordinator.Tell(new RunPlaced(work.Spec.Id, slot.Node, slot.Spec.Name, slot.Spec.Device, work.Attempt));
        }
    }

    void SlotGone(IActorRef supervisor)
    {
        if (!slots.Remove(supervisor, out var slot)) return;
        order.Remove(supervisor);
        offered.Remove(supervisor.Path.Address);   // a node that comes back under this address offers its slots again
        log.Warning("slot {0} of node {1} is gone{2}", slot.Spec.Name, slot.Node, slot.Work is { } w ? $"; run {w.Spec.Id} goes back to its coordinator" : "");
        if (slot.Work is { } work) work.Coordinator.Tell(new RunOrphaned(work.Spec.Id, slot.Node));
    }

    void Stop(StopRuns stop)
    {
        var kept = queue.Where(w => w.Sweep != stop.Sweep).ToList();
        queue.Clear();
        foreach (var w in kept) queue.Enqueue(w);
        var replyTo = Sender;
        var asks = slots.Keys.Select(s => s.Ask<RunsStopped>(stop, Timeout.InfiniteTimeSpan));
        Task.WhenAll(asks).PipeTo(replyTo, success: _ => RunsStopped.Instance);
    }
}
