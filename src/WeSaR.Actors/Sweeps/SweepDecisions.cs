using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Sweeps;

/// <summary>What a crash decides: the events to persist, why the trainer must not restart (null: restart it), and why the sweep stops, if it does.</summary>
public sealed record CrashDecision(IReadOnlyList<ISweepEvent> Events, string? GiveUp, string? Halt = null);

/// <summary>
/// The coordinator's decisions: for each command, the events to persist, as pure functions of the state. The
/// actor persists what these return, folds it with <see cref="Apply"/>, and replies; it decides nothing itself.
/// </summary>
public sealed partial record SweepState
{
    /// <summary>A new sweep's first event; nothing for a sweep the journal already holds.</summary>
    public IReadOnlyList<ISweepEvent> Start(SweepDefinition d, DateTime now) =>
        Phase == SweepPhase.New ? [new SweepStarted(d.Id, d.Name, d.Runs, d.MaxRestarts, now)] : [];

    /// <summary>A placement, a commit or any other record of a run: kept only while the run has not ended.</summary>
    public IReadOnlyList<ISweepEvent> Record(IRunEvent e) => Run(e.Run) is { Ended: false } ? [e] : [];

    /// <summary>
    /// Checkpoints a trainer passed over (damaged or missing), written together: the run continues from an older one
    /// in the same attempt, so the resume point moves and the restarts stay.
    /// </summary>
    public IReadOnlyList<ISweepEvent> Reject(RejectCheckpoints c) => Run(c.Run) is { Ended: false }
        ? [.. c.Rejected.Select(r => new CheckpointRejected(Id, c.Run, r.Step, r.Reason, c.StartsFrom.Step, c.StartsFrom.ManifestSha256))]
        : [];

    /// <summary>The spike and the monitor's decision about it (a rollback, or the run's failure), written together.</summary>
    public IReadOnlyList<ISweepEvent> Spike(RecordSpike s)
    {
        if (Run(s.Run) is not { Ended: false }) return [];
        var sp = s.Spike;
        var events = new List<ISweepEvent>
        {
            new SpikeDetected(Id, s.Run, sp.Step, sp.Rule, Metric(sp.Metric), sp.Value, sp.Mean, sp.Std, sp.Threshold),
        };
        if (s.Decision.Rollback is { } o) events.Add(new RolledBack(Id, s.Run, o.FromStep, o.ToStep, s.TargetManifestSha256, o.SkipBatches, o.LrScale));
        if (s.Decision.Failure is { } why) events.Add(new RunFailed(Id, s.Run, sp.Step, why));
        return events;
    }

    /// <summary>A raised or cleared spike risk, while the run has not ended.</summary>
    public IReadOnlyList<ISweepEvent> Risk(RecordRisk r) => Run(r.Run) is not { Ended: false } ? []
        : r.Signal.Raised ? [new SpikeRiskRaised(Id, r.Run, r.Signal.Step, r.Signal.Rule, r.Signal.Matrix, r.Signal.Value, r.Signal.Threshold)]
        : [new SpikeRiskCleared(Id, r.Run, r.Signal.Step, r.Signal.Matrix, r.Signal.Value)];

    /// <summary>A replayed spike's verdict, while the run has not ended.</summary>
    public IReadOnlyList<ISweepEvent> Verdict(RecordVerdict r) => Run(r.Run) is not { Ended: false } ? []
        : [new SpikeClassified(Id, r.Run, r.Verdict.Spike.Step, r.Verdict.Name, r.Verdict.Spike.Rule, Metric(r.Verdict.Spike.Metric), r.Verdict.Loss,
            r.Verdict.ReplayLoss, r.Verdict.Identical)];

    /// <summary>A finished loop completes its run, with the journal's spike and rollback counts; a failure was written with its decision.</summary>
    public IReadOnlyList<ISweepEvent> Ended(RunEnded e)
    {
        if (Run(e.Run) is not { Ended: false } run || !e.Summary.Finished) return [];
        var s = e.Summary;
        return [new RunCompleted(Id, e.Run, new FinalMetrics(s.Step, s.ValLoss, s.ValPpl, s.LastLoss, s.TokensPerS, s.ModelSha256, run.Spikes, run.Rollbacks))];
    }

    /// <summary>
    /// A crashed trainer: another attempt while the restart budget lasts, else the run fails. While the sweep stops
    /// nothing is written (the run stays unfinished and a resume retries it). A fault of the machine (a full disk)
    /// spends no restart: every unfinished run is interrupted and the sweep stops (<c>Halt</c> says why), as
    /// restarting would only spend the budget. The journal may sit on the same full disk: then the write fails and
    /// the coordinator halts on that instead, with the runs left as they were, which a resume treats the same.
    /// </summary>
    public CrashDecision Crash(RunCrashed c, bool stopping)
    {
        if (Run(c.Run) is not { Ended: false } run) return new([], "run already ended");
        if (stopping) return new([], $"crashed while stopping: {c.Reason}");
        if (c.Environment is { } what)
        {
            var halt = $"{what} (run {run.Spec.Label}: {c.Reason})";
            return new([.. Runs.Where(r => !r.Ended).Select(r => new RunInterrupted(Id, r.Id, r.Resume.Step, halt))], $"not restarted: {what}", halt);
        }
        if (run.RestartsSpent >= MaxRestarts)
        {
            var reason = $"gave up after {run.RestartsSpent} restart(s): {c.Reason}";
            return new([new RunFailed(Id, c.Run, run.Resume.Step, reason)], reason);
        }
        return new([new RunRestarted(Id, c.Run, run.Attempt + 1, c.Reason)], null);
    }

    /// <summary>
    /// `sweep retry`: another go, with a fresh restart budget, for the named failed or interrupted runs (run ids or
    /// unique prefixes; every failed run when <paramref name="runs"/> is null). A completed run is refused (it counts
    /// once), and so is a pending or running one (`sweep resume` continues it).
    /// </summary>
    public (IReadOnlyList<ISweepEvent> Events, string? Problem) Retry(IReadOnlyList<string>? runs, DateTime now)
    {
        RunStatus? Named(string name) => Runs.FirstOrDefault(r => r.Id.Value == name)
            ?? (Runs.Where(r => r.Id.Value.StartsWith(name, StringComparison.Ordinal)).ToList() is [var only] ? only : null);
        List<RunStatus?> chosen = runs is null ? [.. Runs.Where(r => r.Phase == RunPhase.Failed)] : [.. runs.Select(Named)];
        if (runs is not null && chosen.IndexOf(null) is >= 0 and var i) return ([], $"no run '{runs[i]}' in sweep {Id} (a run id or a prefix naming one run)");
        if (chosen.FirstOrDefault(r => r!.Phase is not (RunPhase.Failed or RunPhase.Interrupted)) is { } other)
            return ([], $"run {other.Id} ({other.Spec.Label}) is {other.Phase.Name()}, not failed or interrupted: "
                        + (other.Phase == RunPhase.Completed ? "it counts once" : "`sweep resume` continues it"));
        if (chosen.Count == 0) return ([], $"no failed run in sweep {Id}");
        return ([.. chosen.Select(r => new RunRetried(Id, r!.Id, r.Failure ?? "", now))], null);
    }

    /// <summary>The sweep's last event, once every run has ended.</summary>
    public IReadOnlyList<ISweepEvent> Done(DateTime now) => Phase == SweepPhase.Running && AllEnded
        ? [new SweepCompleted(Id, Runs.Count(r => r.Phase == RunPhase.Completed), Runs.Count(r => r.Phase == RunPhase.Failed), now)]
        : [];

    static string Metric(SpikeMetric m) => m == SpikeMetric.Loss ? "loss" : "grad-norm";
}
