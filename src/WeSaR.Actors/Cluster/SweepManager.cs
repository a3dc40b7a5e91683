using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using WeSaR.Actors.Placement;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Cluster;

/// <summary>
/// The cluster's one coordinator of coordinators (a persistent cluster singleton on the coordinator role,
/// persistence id "cluster-sweeps"): it owns the cluster-wide <see cref="PlacementActor"/> and one
/// <see cref="SweepCoordinator"/> per admitted sweep. When its node dies the singleton starts on the next
/// coordinator node, recovers the admitted sweeps and continues every one from its journal.
/// </summary>
public sealed class SweepManager : ReceivePersistentActor
{
    sealed record Checked(SubmitSweep Submit, IActorRef ReplyTo, SweepState State);

    sealed record HandedOver
    {
        public static readonly HandedOver Instance = new();
    }

    readonly ILoggingAdapter log = Context.GetLogger();
    readonly HashSet<SweepId> admitted = [];
    readonly int snapshotEvery;
    readonly TimeSpan stopTimeout;
    readonly string node;
    IActorRef placement = ActorRefs.Nobody;

    public override string PersistenceId => "cluster-sweeps";

    /// <param name="stopTimeout">How long a hand-over waits for the runs to checkpoint before it stops anyway.</param>
    public static Props Props(int snapshotEvery, TimeSpan stopTimeout, string node) =>
        Akka.Actor.Props.Create(() => new SweepManager(snapshotEvery, stopTimeout, node));

    public SweepManager(int snapshotEvery, TimeSpan stopTimeout, string node)
    {
        (this.snapshotEvery, this.stopTimeout, this.node) = (snapshotEvery, stopTimeout, node);
        Recover<SweepAdmitted>(a => admitted.Add(a.Sweep));
        Recover<RecoveryCompleted>(_ =>
        {
            placement = Context.ActorOf(PlacementActor.Props(null), "placement");
            log.Info("sweep manager on {0}: continuing {1} admitted sweep(s)", node, admitted.Count);
            foreach (var id in admitted) Coordinator(id).Tell(new Begin(null));
        });
        Command<SubmitSweep>(s =>
        {
            var replyTo = Sender;
            Coordinator(s.Sweep).Ask<SweepState>(GetSweepState.Instance, TimeSpan.FromSeconds(30)).PipeTo(Self, success: st => new Checked(s, replyTo, st));
        });
        Command<Checked>(Admit);
        Command<QuerySweep>(q =>
        {
            if (admitted.Contains(q.Sweep)) Coordinator(q.Sweep).Forward(GetSweepState.Instance);
            else Sender.Tell(new SweepRejected($"the cluster does not run sweep {q.Sweep}; submit it with `wesar sweep run --cluster`"));
        });
        Command<HandOver>(_ =>
        {
            log.Info("sweep manager on {0} hands over: stopping {1} sweep(s)", node, admitted.Count);
            var coordinators = admitted.Select(id => Context.Child("sweep-" + id)).Where(c => !c.IsNobody());
            Task.WhenAll(coordinators.Select(c => c.Ask<SweepStopped>(StopSweep.Instance, stopTimeout)))
                .PipeTo(Self, success: () => HandedOver.Instance, failure: _ => HandedOver.Instance);
        });
        Command<HandedOver>(_ => Context.Stop(Self));
        Command<SweepFinished>(f => log.Info("sweep {0} completed", f.State.Id));
        Command<SweepRejected>(r => log.Warning("sweep rejected: {0}", r.Reason));
        Command<Status.Failure>(f => log.Error(f.Cause, "a sweep coordinator did not answer"));
    }

    void Admit(Checked c)
    {
        var (submit, replyTo, state) = c;
        if (submit.Definition is null && state.Phase == SweepPhase.New)
        {
            replyTo.Tell(new SweepRejected(SweepRejected.NoSweep(submit.Sweep.Value, "the cluster's journal")));
            Context.Stop(Coordinator(submit.Sweep));
            return;
        }
        if (admitted.Contains(submit.Sweep))
        {
            replyTo.Tell(new SweepAdmitted(submit.Sweep));
            return;
        }
        Persist(new SweepAdmitted(submit.Sweep), e =>
        {
            admitted.Add(e.Sweep);
            log.Info("sweep {0} admitted ({1} run(s))", e.Sweep, submit.Definition?.Runs.Count ?? state.Runs.Count);
            Coordinator(e.Sweep).Tell(new Begin(submit.Definition));
            replyTo.Tell(e);
        });
    }

    IActorRef Coordinator(SweepId id)
    {
        var name = "sweep-" + id;
        var child = Context.Child(name);
        return child.IsNobody() ? Context.ActorOf(SweepCoordinator.Props(id, new CoordinatorContext(placement, snapshotEvery)), name) : child;
    }
}
