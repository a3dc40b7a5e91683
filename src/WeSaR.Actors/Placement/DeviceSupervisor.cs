using Akka.Actor;
using Akka.Event;
using WeSaR.Actors.Runs;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Placement;

/// <summary>
/// Owns one slot. Runs one trainer at a time; when it crashes, asks the coordinator to record the crash and,
/// while the retry budget lasts, starts it again from the run's last committed checkpoint after a backoff.
/// When the run's coordinator is gone (its node died; a new one takes over from the journal), the trainer is
/// aborted at once: the new coordinator places the run again from its last committed checkpoint.
/// </summary>
public sealed class DeviceSupervisor : ReceiveActor
{
    readonly ILoggingAdapter log = Context.GetLogger();
    readonly SlotSpec slot;
    readonly SlotContext deps;
    PlaceRun? work;
    IActorRef? trainer;
    Exception? failure;
    ICancelable? pendingRestart;
    IActorRef? stopRequester;
    bool coordinatorGone;
    int started;

    public static Props Props(SlotSpec slot, SlotContext deps) => Akka.Actor.Props.Create(() => new DeviceSupervisor(slot, deps));

    public DeviceSupervisor(SlotSpec slot, SlotContext deps)
    {
        this.slot = slot;
        this.deps = deps;
        Receive<PlaceRun>(w =>
        {
            if (work is null) Start(w);
            else Sender.Tell(new SlotBusy(w));
        });
        Receive<StartAgain>(a => Start(a.Work));
        Receive<Terminated>(t => t.ActorRef.Equals(trainer), _ => TrainerGone());
        Receive<Terminated>(t => t.ActorRef.Equals(work?.Coordinator), _ => CoordinatorGone());
        Receive<Terminated>(_ => { });   // a trainer or coordinator of earlier work: nothing to do
        Receive<RestartRun>(ScheduleRestart);
        Receive<RunGivenUp>(g =>
        {
            log.Warning("run {0} failed on {1}: {2}", work?.Spec.Id, slot.Name, g.Reason);
            Free();
        });
        Receive<Status.Failure>(f =>
        {
            // The coordinator did not answer: leave the run unfinished in the journal; a resume picks it up.
            log.Error(f.Cause, "could not record the crash of run {0}", work?.Spec.Id);
            Free();
        });
        Receive<StopRuns>(s => Stop(work?.Sweep == s.Sweep));
        Receive<DrainNode>(_ => Stop(true));
    }

    // Any exception stops the trainer; the restart is ours to make, from the journal's resume point.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(ex =>
    {
        failure = ex;
        return Directive.Stop;
    });

    void Start(PlaceRun w)
    {
        if (work is null)
        {
            Context.Parent.Tell(SlotTaken.Instance);
            Context.Watch(w.Coordinator);
        }
        (work, failure, pendingRestart, coordinatorGone) = (w, null, null, false);
        trainer = Context.Watch(Context.ActorOf(TrainerActor.Props(w, slot, deps), $"{w.Spec.Id}-{++started}"));
    }

    void TrainerGone()
    {
        trainer = null;
        if (stopRequester is not null)
        {
            stopRequester.Tell(RunsStopped.Instance);
            stopRequester = null;
            Free();
        }
        else if (coordinatorGone) Free();
        else if (failure is not null)
        {
            var reason = Describe(failure);
            log.Warning("trainer of run {0} crashed on {1}: {2}", work!.Spec.Id, slot.Name, reason);
            work.Coordinator.Ask<object>(new RunCrashed(work.Spec.Id, reason, EnvironmentFault.Of(failure)), deps.AskTimeout).PipeTo(Self);
        }
        else Free();
    }

    void ScheduleRestart(RestartRun r)
    {
        var next = work! with { Resume = r.Resume, Attempt = r.Attempt, Restarts = r.Restarts, Rollbacks = r.Rollbacks };
        var delay = deps.Restarts.Backoff.Delay(r.Restarts - 1);
        log.Info("restarting run {0} (attempt {1}) from step {2} in {3}", next.Spec.Id, r.Attempt, r.Resume.Step, delay);
        pendingRestart = Context.System.Scheduler.ScheduleTellOnceCancelable(delay, Self, new StartAgain(next), Self);
    }

    void CoordinatorGone()
    {
        log.Warning("the coordinator of run {0} is gone; aborting its trainer on {1} (the next coordinator resumes it from its last commit)", work!.Spec.Id, slot.Name);
        coordinatorGone = true;
        if (trainer is not null) trainer.Tell(AbortTraining.Instance);
        else
        {
            pendingRestart?.Cancel();
            Free();
        }
    }

    void Stop(bool ours)
    {
        if (work is null || !ours) Sender.Tell(RunsStopped.Instance);
        else if (trainer is not null)
        {
            stopRequester = Sender;
            trainer.Tell(StopTraining.Instance);
        }
        else
        {
            pendingRestart?.Cancel();   // waiting out a backoff: nothing runs, the journal already has the restart
            Free();
            Sender.Tell(RunsStopped.Instance);
        }
    }

    void Free()
    {
        if (work is not null) Context.Unwatch(work.Coordinator);
        work = null;
        Context.Parent.Tell(new SlotFreed(Self));
    }

    sealed record StartAgain(PlaceRun Work);

    static string Describe(Exception e)
    {
        while (e is TrainerCrashed or AggregateException && e.InnerException is not null) e = e.InnerException!;
        return $"{e.GetType().Name}: {e.Message}";
    }
}
