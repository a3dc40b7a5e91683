using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using WeSaR.Actors.Placement;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Sweeps;

/// <summary>
/// The sweep's single writer (persistence id "sweep-&lt;id&gt;"). Every decision about a run is an event here;
/// on recovery it hands every unfinished run to the placement again from its resume point, so completed runs
/// never run twice and an interrupted one continues from its last committed checkpoint.
/// </summary>
public sealed class SweepCoordinator : ReceivePersistentActor
{
    readonly ILoggingAdapter log = Context.GetLogger();
    readonly CoordinatorContext context;
    readonly List<IActorRef> waiting = [];
    SweepState state;
    bool dispatched, pausing;

    public override string PersistenceId { get; }

    public static Props Props(SweepId id, CoordinatorContext context) => Akka.Actor.Props.Create(() => new SweepCoordinator(id, context));

    public SweepCoordinator(SweepId id, CoordinatorContext context)
    {
        this.context = context;
        state = SweepState.Empty(id);
        PersistenceId = "sweep-" + id;

        Recover<SnapshotOffer>(o => state = (SweepState)o.Snapshot);
        Recover<ISweepEvent>(e => state = state.Apply(e));

        Command<Begin>(OnBegin);
        Command<GetSweepState>(_ => Sender.Tell(state));
        Command<RunPlaced>(p => PersistRun(p.Run, new RunAssigned(state.Id, p.Run, p.Node, p.Slot, p.Device, p.Attempt)));
        Command<RunOrphaned>(OnRunOrphaned);
        Command<CommitCheckpoint>(c => PersistRun(c.Run, new CheckpointCommitted(state.Id, c.Run, c.Step, c.ManifestSha256), reply: true));
        Command<RejectCheckpoints>(OnRejected);
        Command<RecordSpike>(OnSpike);
        Command<RunEnded>(OnRunEnded);
        Command<RunCrashed>(OnRunCrashed);
        Command<Pause>(_ =>
        {
            pausing = true;
            context.Placement.Ask<RunsStopped>(new StopRuns(state.Id), Timeout.InfiniteTimeSpan).PipeTo(Sender, success: _ => Paused.Instance);
        });
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => log.Warning("snapshot of {0} failed: {1}", PersistenceId, f.Cause.Message));
    }

    void OnBegin(Begin b)
    {
        if (state.Phase == SweepPhase.Completed) { Sender.Tell(new SweepFinished(state)); return; }
        if (state.Phase == SweepPhase.New && b.Definition is null) { Sender.Tell(new SweepRejected($"no sweep {state.Id} in the journal")); return; }
        waiting.Add(Sender);
        if (state.Phase == SweepPhase.New)
        {
            var d = b.Definition!;
            var started = new SweepStarted(d.Id, d.Name, d.Runs, d.MaxRestarts, DateTime.UtcNow);
            PersistAll(new ISweepEvent[] { started }.Concat(d.Runs.Select(r => new RunScheduled(d.Id, r.Id))), Applied);
            DeferAsync(started, _ => Dispatch());
        }
        else Dispatch();
    }

    void Dispatch()
    {
        if (dispatched) return;
        dispatched = true;
        foreach (var r in state.Runs.Where(r => !r.Ended))
            context.Placement.Tell(new PlaceRun(state.Id, r.Spec, r.Resume, r.Attempt, r.Restarts, r.Rollbacks, Self));
        CheckDone();
    }

    // The trainer continues from an older checkpoint in the same attempt: the resume point moves, the restarts stay.
    void OnRejected(RejectCheckpoints c)
    {
        if (state.Run(c.Run)!.Ended) { Sender.Tell(Ack.Instance); return; }
        var events = c.Rejected.Select(r => new CheckpointRejected(state.Id, c.Run, r.Step, r.Reason, c.StartsFrom.Step, c.StartsFrom.ManifestSha256)).ToList();
        var replyTo = Sender;
        PersistAll(events, e => { Applied(e); if (ReferenceEquals(e, events[^1])) replyTo.Tell(Ack.Instance); });
    }

    void OnSpike(RecordSpike s)
    {
        if (state.Run(s.Run)!.Ended) { Sender.Tell(Ack.Instance); return; }
        var sp = s.Spike;
        var events = new List<ISweepEvent>
        {
            new SpikeDetected(state.Id, s.Run, sp.Step, sp.Rule, sp.Metric == SpikeMetric.Loss ? "loss" : "grad-norm", sp.Value, sp.Mean, sp.Std, sp.Threshold),
        };
        if (s.Decision.Rollback is { } o)
            events.Add(new RolledBack(state.Id, s.Run, o.FromStep, o.ToStep, s.TargetManifestSha256, o.SkipBatches, o.LrScale));
        if (s.Decision.Failure is { } why) events.Add(new RunFailed(state.Id, s.Run, sp.Step, why));
        // One atomic write: a crash leaves either the spike with its decision or neither.
        PersistAll(events, e => { Applied(e); if (ReferenceEquals(e, events[^1])) { Sender.Tell(Ack.Instance); CheckDone(); } });
    }

    void OnRunEnded(RunEnded e)
    {
        var run = state.Run(e.Run)!;
        if (run.Ended || !e.Summary.Finished) return;   // a failure was persisted with its decision
        var s = e.Summary;
        var metrics = new FinalMetrics(s.Step, s.ValLoss, s.ValPpl, s.LastLoss, s.TokensPerS, s.ModelSha256, run.Spikes, run.Rollbacks);
        Persist(new RunCompleted(state.Id, e.Run, metrics), ev => { Applied(ev); CheckDone(); });
    }

    // The run's node is gone: place it again from the last committed checkpoint. Not a crash of the run, so it
    // does not count against the restart budget; the next RunAssigned records the move.
    void OnRunOrphaned(RunOrphaned o)
    {
        if (state.Run(o.Run) is not { Ended: false } r || pausing) return;
        log.Warning("run {0} lost its slot on node {1}; placing it again from step {2}", o.Run, o.Node, r.Resume.Step);
        context.Placement.Tell(new PlaceRun(state.Id, r.Spec, r.Resume, r.Attempt + 1, r.Restarts, r.Rollbacks, Self));
    }

    void OnRunCrashed(RunCrashed c)
    {
        var run = state.Run(c.Run)!;
        if (run.Ended) { Sender.Tell(new RunGivenUp("run already ended")); return; }
        if (run.Restarts >= state.MaxRestarts || pausing)
        {
            var reason = pausing ? $"crashed while stopping: {c.Reason}" : $"gave up after {run.Restarts} restart(s): {c.Reason}";
            if (pausing) { Sender.Tell(new RunGivenUp(reason)); return; }   // stays unfinished; a resume retries it
            Persist(new RunFailed(state.Id, c.Run, run.Resume.Step, reason), e => { Applied(e); Sender.Tell(new RunGivenUp(reason)); CheckDone(); });
            return;
        }
        Persist(new RunRestarted(state.Id, c.Run, run.Attempt + 1, c.Reason), e =>
        {
            Applied(e);
            var r = state.Run(c.Run)!;
            Sender.Tell(new RestartRun(r.Resume, r.Attempt, r.Restarts, r.Rollbacks));
        });
    }

    void PersistRun(RunId id, IRunEvent e, bool reply = false)
    {
        if (state.Run(id) is not { Ended: false }) { if (reply) Sender.Tell(Ack.Instance); return; }
        Persist(e, ev => { Applied(ev); if (reply) Sender.Tell(Ack.Instance); });
    }

    void Applied(ISweepEvent e)
    {
        state = state.Apply(e);
        log.Info("{Sweep} persisted {Event}", state.Id.Value, e);
        if (e is IRunEvent re) Context.System.EventStream.Publish(new RunChanged(state.Id, state.Run(re.Run)!));
        if (LastSequenceNr % context.SnapshotEvery == 0) SaveSnapshot(state);
    }

    void CheckDone()
    {
        if (!dispatched || !state.AllEnded) return;
        if (state.Phase == SweepPhase.Completed) { Finish(); return; }
        var done = new SweepCompleted(state.Id, state.Runs.Count(r => r.Phase == RunPhase.Completed), state.Runs.Count(r => r.Phase == RunPhase.Failed), DateTime.UtcNow);
        Persist(done, e => { Applied(e); Finish(); });
    }

    void Finish()
    {
        foreach (var w in waiting) w.Tell(new SweepFinished(state));
        waiting.Clear();
    }
}
