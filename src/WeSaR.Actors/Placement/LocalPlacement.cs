using Akka.Actor;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Placement;

/// <summary>
/// The slot registry of one machine: one <see cref="DeviceSupervisor"/> per slot, runs queued until a slot is
/// free, first come first served.
/// </summary>
public sealed class LocalPlacement : ReceiveActor
{
    readonly Queue<PlaceRun> queue = new();
    readonly Dictionary<string, (IActorRef Supervisor, SlotSpec Spec)> slots = new();
    readonly HashSet<string> free = [];
    readonly SlotContext context;

    public static Props Props(IReadOnlyList<SlotSpec> slots, SlotContext context) => Akka.Actor.Props.Create(() => new LocalPlacement(slots, context));

    public LocalPlacement(IReadOnlyList<SlotSpec> specs, SlotContext context)
    {
        this.context = context;
        foreach (var s in specs)
        {
            slots[s.Name] = (Context.ActorOf(DeviceSupervisor.Props(s, context), s.Name), s);
            free.Add(s.Name);
        }
        Receive<PlaceRun>(p => { queue.Enqueue(p); Dispatch(); });
        Receive<SlotFreed>(f => { free.Add(f.Slot); Dispatch(); });
        Receive<StopRuns>(Stop);
    }

    void Dispatch()
    {
        while (queue.Count > 0 && free.Count > 0)
        {
            var name = slots.Keys.First(free.Contains);   // slots in their configured order
            free.Remove(name);
            var work = queue.Dequeue();
            var (supervisor, spec) = slots[name];
            supervisor.Tell(work);
            work.Coordinator.Tell(new RunPlaced(work.Spec.Id, context.Node, spec.Name, spec.Device));
        }
    }

    void Stop(StopRuns stop)
    {
        var kept = queue.Where(w => w.Sweep != stop.Sweep).ToList();
        queue.Clear();
        foreach (var w in kept) queue.Enqueue(w);
        var replyTo = Sender;
        var asks = slots.Values.Select(s => s.Supervisor.Ask<RunsStopped>(stop, Timeout.InfiniteTimeSpan));
        Task.WhenAll(asks).PipeTo(replyTo, success: _ => RunsStopped.Instance);
    }
}
