using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace WeSaR.Actors.Sweeps;

/// <summary>
/// The sweep's single writer (persistence id "sweep-&lt;id&gt;"). Every decision about a run is an event here;
/// on recovery it hands every unfinished run to the placement again from its resume point, so completed runs
/// never run twice and an interrupted one continues from its last committed checkpoint.
/// </summary>
public sealed class SweepCoordinator : ReceivePersistentActor
{
    readonly ILoggingAdapter log = Context.GetLogger();
    readonly CoordinatorContext deps;
    readonly List<IActorRef> waiting = [];
    SweepState state;
    bool dispatched, stopping;

    public override string PersistenceId { get; }

    public static Props Props(SweepId id, CoordinatorContext deps) => Akka.Actor.Props.Create(() => new SweepCoordinator(id, deps));

    public SweepCoordinator(SweepId id, CoordinatorContext deps)
    {
        this.deps = deps;
        state = SweepState.Empty(id);
        PersistenceId = "sweep-" + id;

        Recover<SnapshotOffer>(o => state = (SweepState)o.Snapshot);
        Recover<ISweepEvent>(e => state = state.Apply(e));

        Command<Begin>(OnBegin);
        Command<GetSweepState>(_ => Sender.Tell(state));
        Command<RunPlaced>(p => PersistEvents(state.Record(new RunAssigned(state.Id, p.Run, p.Node, p.Slot, p.Device, p.Attempt)), () => { }));
        Command<RunOrphaned>(OnRunOrphaned);
        Command<CommitCheckpoint>(c =>
        {
            var sender = Sender;
            PersistEvents(state.Record(new CheckpointCommitted(state.Id, c.Run, c.Step, c.ManifestSha256)), () => sender.Tell(Ack.Instance));
        });
        Command<RecordSpike>(s =>
        {
            // One atomic write: a crash leaves either the spike with its decision or neither.
            var sender = Sender;
            PersistEvents(state.Spike(s), () => { sender.Tell(Ack.Instance); CheckDone(); });
        });
        Command<RecordRisk>(r =>
        {
            var sender = Sender;
            PersistEvents(state.Risk(r), () => sender.Tell(Ack.Instance));
        });
        Command<RecordVerdict>(v =>
        {
            var sender = Sender;
            PersistEvents(state.Verdict(v), () => sender.Tell(Ack.Instance));
        });
        Command<RejectCheckpoints>(c =>
        {
            var sender = Sender;
            PersistEvents(state.Reject(c), () => sender.Tell(Ack.Instance));
        });
        Command<RunEnded>(e => PersistEvents(state.Ended(e), CheckDone));
        Command<RetryRuns>(r =>
        {
            var sender = Sender;
            var (events, problem) = state.Retry(r.Runs, DateTime.UtcNow);
            if (problem is not null) sender.Tell(new SweepRejected(problem));
            else PersistEvents(events, () => sender.Tell(Ack.Instance));
        });
        Command<RunCrashed>(OnRunCrashed);
        Command<StopSweep>(_ =>
        {
            stopping = true;
            deps.Placement.Ask<RunsStopped>(new StopRuns(state.Id), Timeout.InfiniteTimeSpan).PipeTo(Sender, success: _ => SweepStopped.Instance);
        });
        Command<Halted>(h => Answer(new SweepHalted(h.Reason)));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => log.Warning("snapshot of {0} failed: {1}", PersistenceId, f.Cause.Message));
    }

    void OnBegin(Begin b)
    {
        if (state.Phase == SweepPhase.Completed) { Sender.Tell(new SweepFinished(state)); return; }
        if (state.Phase == SweepPhase.New && b.Definition is null) { Sender.Tell(new SweepRejected(SweepRejected.NoSweep(state.Id.Value, "the journal"))); return; }
        waiting.Add(Sender);
        PersistEvents(b.Definition is { } d ? state.Start(d, DateTime.UtcNow) : [], Dispatch);
    }

    void Dispatch()
    {
        if (dispatched) return;
        dispatched = true;
        foreach (var r in state.Runs.Where(r => !r.Ended))
            deps.Placement.Tell(new PlaceRun(state.Id, r.Spec, r.Resume, r.Attempt, r.Restarts, r.Rollbacks, Self));
        CheckDone();
    }

    // The run's node is gone: place it again from the last committed checkpoint. Not a crash of the run, so it
    // does not count against the restart budget; the next RunAssigned records the move.
    void OnRunOrphaned(RunOrphaned o)
    {
        if (state.Run(o.Run) is not { Ended: false } r || stopping) return;
        log.Warning("run {0} lost its slot on node {1}; placing it again from step {2}", o.Run, o.Node, r.Resume.Step);
        deps.Placement.Tell(new PlaceRun(state.Id, r.Spec, r.Resume, r.Attempt + 1, r.Restarts, r.Rollbacks, Self));
    }

    void OnRunCrashed(RunCrashed c)
    {
        var sender = Sender;
        var (events, giveUp, halt) = state.Crash(c, stopping);
        if (halt is not null) Halt(halt);
        PersistEvents(events, () =>
        {
            if (giveUp is not null) { sender.Tell(new RunGivenUp(giveUp)); CheckDone(); return; }
            var r = state.Run(c.Run)!;
            sender.Tell(new RestartRun(r.Resume, r.Attempt, r.Restarts, r.Rollbacks));
        });
    }

    /// <summary>Persists <paramref name="events"/> in one atomic write, folds each, then runs <paramref name="then"/> (at once when there are none).</summary>
    void PersistEvents(IReadOnlyList<ISweepEvent> events, Action then)
    {
        if (events.Count == 0) { then(); return; }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        PersistAll(events, e =>
        {
            Applied(e);
            if (!ReferenceEquals(e, events[^1])) return;
            Context.System.EventStream.Publish(new JournalWritten(state.Id, events.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started)));
            then();
        });
    }

    void Applied(ISweepEvent e)
    {
        state = state.Apply(e);
        log.Info("{Sweep} persisted {Event}", state.Id.Value, e);
        if (e is IRunEvent re) Context.System.EventStream.Publish(new RunChanged(state.Id, state.Run(re.Run)!));
        if (LastSequenceNr % deps.SnapshotEvery == 0) SaveSnapshot(state);
    }

    void CheckDone()
    {
        if (!dispatched) return;
        if (state.Phase == SweepPhase.Completed) { Finish(); return; }
        var done = state.Done(DateTime.UtcNow);
        if (done.Count > 0) PersistEvents(done, Finish);
    }

    void Finish() => Answer(new SweepFinished(state));

    void Answer(object reply)
    {
        foreach (var w in waiting) w.Tell(reply);
        waiting.Clear();
    }

    // A fault of the machine: every run stops at a checkpoint it can write, if any, and waits for a resume.
    void Halt(string reason)
    {
        if (stopping) return;
        stopping = true;
        log.Warning("{0}: stopping the sweep; nothing is lost, and it resumes once that is fixed", reason);
        deps.Placement.Ask<RunsStopped>(new StopRuns(state.Id), Timeout.InfiniteTimeSpan).PipeTo(Self, success: _ => new Halted(reason));
    }

    sealed record Halted(string Reason);

    // The journal refused a write (a full disk, a database gone): say why to whoever waits, then stop as Akka does.
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Answer(new SweepHalted($"the journal could not be written ({cause.GetBaseException().Message})", Persistence.JournalAccess.IsTransient(cause)));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}
