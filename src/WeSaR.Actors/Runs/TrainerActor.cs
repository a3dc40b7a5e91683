using Akka.Actor;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;

namespace WeSaR.Actors.Runs;

/// <summary>
/// One attempt of one run on one slot. The training loop runs as a long-running task on its own thread
/// (the mailbox stays free for <see cref="StopTraining"/>); its result or exception comes back as a message,
/// and an exception becomes this actor's failure, which its slot's supervisor handles.
/// </summary>
public sealed class TrainerActor : ReceiveActor
{
    readonly PlaceRun work;
    readonly SlotSpec slot;
    readonly SlotContext deps;
    readonly CancellationTokenSource cts = new(), abort = new();
    Task<RunSummary>? loop;

    public static Props Props(PlaceRun work, SlotSpec slot, SlotContext deps) =>
        Akka.Actor.Props.Create(() => new TrainerActor(work, slot, deps));

    public TrainerActor(PlaceRun work, SlotSpec slot, SlotContext deps)
    {
        this.work = work;
        this.slot = slot;
        this.deps = deps;
        Receive<LoopEnded>(e =>
        {
            if (!e.Summary.Interrupted) work.Coordinator.Tell(new RunEnded(work.Spec.Id, e.Summary));
            Context.Stop(Self);
        });
        Receive<Status.Failure>(f => throw new TrainerCrashed(f.Cause));
        Receive<StopTraining>(_ => cts.Cancel());
        Receive<AbortTraining>(_ => { abort.Cancel(); cts.Cancel(); });
    }

    protected override void PreStart()
    {
        // The slot decides the device and thread count; neither is part of the run's identity.
        var settings = work.Spec.Settings([$"run.device={slot.Device}", $"run.threads={slot.Threads}"]);
        var monitor = Context.ActorOf(SpikeMonitor.Props(settings.Spike, work.Spec.Id, work.Rollbacks, work.Coordinator, deps.AskTimeout), "spike-monitor");
        var control = new ActorRunControl(monitor, work.Coordinator, work.Spec.Id, deps.AskTimeout, abort.Token);
        var observer = new PublishingObserver(Context.System.EventStream, work.Sweep, work.Spec.Id, settings.Train.Steps);
        var (resume, attempt, dir, workdir, token) = (work.Resume, work.Attempt, work.Spec.Dir(deps.SharedDir, work.Sweep), deps.SharedDir, cts.Token);
        var (lockWait, aborted) = (deps.AskTimeout, abort.Token);
        loop = Task.Factory.StartNew(() =>
        {
            using var exclusive = RunLock.Acquire(dir, lockWait, aborted);
            using var data = DataSource.Open(settings.Data, workdir);
            return new TrainingRun(settings, dir).Execute(data, resume, control, observer, token, attempt);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        loop.PipeTo(Self, success: s => new LoopEnded(s), failure: ex => new Status.Failure(ex));
    }

    protected override void PostStop()
    {
        // Never leave a loop behind: the next attempt must not share the run folder with it.
        cts.Cancel();
        try { loop?.Wait(TimeSpan.FromMinutes(5)); }
        catch (AggregateException) { }
        cts.Dispose();
        abort.Dispose();
    }
}
