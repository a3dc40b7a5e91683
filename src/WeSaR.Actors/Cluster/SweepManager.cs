using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;
using WeSaR.Actors.Placement;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Cluster;

/// <summary>
/// The cluster's one coordinator of coordinators (a persistent cluster singleton on the coordinator role,
/// persistence id "cluster-sweeps"): it owns the cluster-wide <see cref="PlacementActor"/> and one
/// <see cref="SweepCoordinator"/> per admitted sweep. When its node dies the singleton starts on the next
/// coordinator node, recovers the admitted sweeps and continues every one from its journal. It never gives up on a
/// sweep: a coordinator that stops (it could not write the journal) or halts (a full disk) is started again after a
/// backoff, and the manager itself runs under a backoff supervisor, so a journal outage only pauses the cluster.
/// </summary>
public sealed class SweepManager : ReceivePersistentActor, IWithTimers
{
    sealed record Checked(SubmitSweep Submit, IActorRef ReplyTo, SweepState State);

    sealed record StartAgain(SweepId Sweep);

    // Restarts of a sweep's coordinator in a row; the count starts over once one has run longer than the longest wait.
    sealed record Tries(int Count, DateTime StartedUtc);

    sealed record HandedOver
    {
        public static readonly HandedOver Instance = new();
    }

    readonly ILoggingAdapter log = Context.GetLogger();
    readonly HashSet<SweepId> admitted = [];
    readonly Dictionary<SweepId, Tries> tries = [];
    readonly int snapshotEvery;
    readonly TimeSpan stopTimeout;
    readonly string node;
    readonly Backoff retry;
    IActorRef placement = ActorRefs.Nobody;
    bool handingOver;

    public override string PersistenceId => "cluster-sweeps";

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// The manager under a backoff supervisor: when it stops (its journal write or recovery failed) it starts again
    /// after <paramref name="retry"/>'s wait; a hand-over stops both.
    /// </summary>
    /// <param name="stopTimeout">How long a hand-over waits for the runs to checkpoint before it stops anyway.</param>
    public static Props Supervised(int snapshotEvery, TimeSpan stopTimeout, string node, Backoff retry) =>
        BackoffSupervisor.Props(Akka.Pattern.Backoff.OnStop(Akka.Actor.Props.Create(() => new SweepManager(snapshotEvery, stopTimeout, node, retry)), "manager",
            retry.Min, retry.Max, 0.2, -1).WithFinalStopMessage(m => m is HandOver));

    public SweepManager(int snapshotEvery, TimeSpan stopTimeout, string node, Backoff retry)
    {
        (this.snapshotEvery, this.stopTimeout, this.node, this.retry) = (snapshotEvery, stopTimeout, node, retry);
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
            // No coordinator while it waits out a backoff: no answer, and the client asks again.
            if (admitted.Contains(q.Sweep)) Context.Child(CoordinatorName(q.Sweep)).Forward(GetSweepState.Instance);
            else Sender.Tell(new SweepRejected($"the cluster does not run sweep {q.Sweep}; submit it with `wesar sweep run --cluster`"));
        });
        Command<HandOver>(_ =>
        {
            handingOver = true;
            log.Info("sweep manager on {0} hands over: stopping {1} sweep(s)", node, admitted.Count);
            var coordinators = admitted.Select(id => Context.Child(CoordinatorName(id))).Where(c => !c.IsNobody());
            Task.WhenAll(coordinators.Select(c => c.Ask<SweepStopped>(StopSweep.Instance, stopTimeout)))
                .PipeTo(Self, success: () => HandedOver.Instance, failure: _ => HandedOver.Instance);
        });
        Command<HandedOver>(_ => Context.Stop(Self));
        Command<SweepFinished>(f =>
        {
            tries.Remove(f.State.Id);
            log.Info("sweep {0} completed", f.State.Id);
        });
        // The coordinator stopped its runs and waits for a resume: stop it, and a new one resumes after a backoff.
        Command<SweepHalted>(h =>
        {
            log.Warning("sweep {0} halted: {1}", SweepOf(Sender), h.Reason);
            Context.Stop(Sender);
        });
        Command<Terminated>(t => CoordinatorStopped(SweepOf(t.ActorRef)));
        Command<StartAgain>(a =>
        {
            tries[a.Sweep] = tries[a.Sweep] with { StartedUtc = DateTime.UtcNow };
            Coordinator(a.Sweep).Tell(new Begin(null));
        });
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

    void CoordinatorStopped(SweepId id)
    {
        if (handingOver || !admitted.Contains(id)) return;
        var n = tries.TryGetValue(id, out var t) && DateTime.UtcNow - t.StartedUtc < retry.Max ? t.Count : 0;
        var wait = retry.Delay(n);
        tries[id] = new Tries(n + 1, t?.StartedUtc ?? DateTime.UtcNow);
        log.Warning("the coordinator of sweep {0} stopped; starting it again in {1}", id, wait);
        Timers.StartSingleTimer(id, new StartAgain(id), wait);
    }

    // A sweep's coordinator is the child named after it.
    static string CoordinatorName(SweepId id) => "sweep-" + id;

    static SweepId SweepOf(IActorRef coordinator) => new(coordinator.Path.Name["sweep-".Length..]);

    IActorRef Coordinator(SweepId id)
    {
        var name = CoordinatorName(id);
        var child = Context.Child(name);
        return child.IsNobody() ? Context.Watch(Context.ActorOf(SweepCoordinator.Props(id, new CoordinatorContext(placement, snapshotEvery)), name)) : child;
    }
}
