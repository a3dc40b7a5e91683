using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using WeSaR.Training.Loop;

namespace WeSaR.Actors.Sweeps;

/// <summary>
/// <c>Failed</c>: the run's own fault (its restart budget spent, or it diverged); it has ended. <c>Interrupted</c>: the
/// machine stopped it (a full disk, a permission error); it has not ended, and `sweep resume` continues it. New
/// phases go at the end: snapshots hold the number.
/// </summary>
public enum RunPhase { Pending, Running, Completed, Failed, Interrupted }

public static class RunPhaseNames
{
    /// <summary>The phase as the CLI shows it, in tables and JSON ("completed").</summary>
    public static string Name(this RunPhase phase) => phase.ToString().ToLowerInvariant();
}

public enum SweepPhase { New, Running, Completed }

/// <summary>
/// One run as the journal knows it. <c>Resume</c> is where a (re)started trainer begins: the last committed
/// checkpoint, or a rollback's target with its data skip and learning-rate scale. <c>Restarts</c> counts every
/// restart; those since the latest `sweep retry` (<c>RestartsAtRetry</c> before it) spend the budget.
/// <c>Failure</c> says why a failed run failed, or why an interrupted one stopped.
/// </summary>
public sealed record RunStatus(RunSpec Spec, RunPhase Phase, ResumePoint Resume, int Attempt, int Spikes, int Rollbacks, int Restarts,
    string? Node, string? Slot, FinalMetrics? Result, string? Failure, int RestartsAtRetry = 0)
{
    [JsonIgnore] public int RestartsSpent => Restarts - RestartsAtRetry;

    [JsonIgnore] public RunId Id => Spec.Id;

    [JsonIgnore] public bool Ended => Phase is RunPhase.Completed or RunPhase.Failed;

    public static RunStatus New(RunSpec spec) => new(spec, RunPhase.Pending, ResumePoint.Fresh, 0, 0, 0, 0, null, null, null, null);
}

/// <summary>
/// The sweep as a fold over its events: the coordinator's state and the read side's view of it.
/// Pure and Akka-free, so replaying a journal always gives the same state.
/// </summary>
public sealed partial record SweepState(SweepId Id, string Name, SweepPhase Phase, int MaxRestarts, ImmutableList<RunStatus> Runs)
{
    public static SweepState Empty(SweepId id) => new(id, "", SweepPhase.New, 0, []);

    public RunStatus? Run(RunId id) => IndexOf(id) is var i and >= 0 ? Runs[i] : null;

    // Runs are never added, removed or reordered after SweepStarted, so every state folded from one start can share
    // one index of positions, found by the first run's spec (the same object in all of them) and checked on each use.
    // A linear search per event made folding 100k events cost as much as reading them.
    static readonly ConditionalWeakTable<RunSpec, Dictionary<RunId, int>> Positions = new();

    int IndexOf(RunId id)
    {
        if (Runs.IsEmpty) return -1;
        var positions = Positions.GetValue(Runs[0].Spec, _ =>
        {
            var index = new Dictionary<RunId, int>();
            for (var i = 0; i < Runs.Count; i++) index.TryAdd(Runs[i].Id, i);
            return index;
        });
        return positions.TryGetValue(id, out var at) && at < Runs.Count && Runs[at].Id == id ? at : Runs.FindIndex(r => r.Id == id);
    }

    [JsonIgnore] public bool AllEnded => Runs.All(r => r.Ended);

    public SweepState Apply(ISweepEvent e) => e switch
    {
        SweepStarted s => this with { Name = s.Name, Phase = SweepPhase.Running, MaxRestarts = s.MaxRestarts, Runs = s.Runs.Select(RunStatus.New).ToImmutableList() },
        RunScheduled => this,   // written by journals before SweepDecisions; SweepStarted already holds the runs
        RunAssigned a => With(a.Run, r => r with { Phase = RunPhase.Running, Node = a.Node, Slot = a.Slot, Attempt = a.Attempt, Failure = null }),
        CheckpointCommitted c => With(c.Run, r => r with { Resume = new ResumePoint(c.Step, c.ManifestSha256) }),
        CheckpointRejected x => With(x.Run, r => r with { Resume = new ResumePoint(x.ResumeStep, x.ResumeManifestSha256) }),
        SpikeDetected d => With(d.Run, r => r with { Spikes = r.Spikes + 1 }),
        SpikeRiskRaised or SpikeRiskCleared or SpikeClassified => this,   // for the history; decides nothing
        RolledBack b => With(b.Run, r => r with
        {
            Rollbacks = r.Rollbacks + 1,
            // Back to the point it already resumes from (no checkpoint since): the scales compound, as in the live run.
            Resume = new ResumePoint(b.ToStep, b.ToManifestSha256, b.SkipBatches,
                b.LrScale * (r.Resume.Step == b.ToStep && r.Resume.ManifestSha256 == b.ToManifestSha256 ? r.Resume.LrScale : 1), AfterRollback: true),
        }),
        RunRestarted x => With(x.Run, r => r with { Restarts = r.Restarts + 1, Attempt = x.Attempt }),
        RunCompleted c => With(c.Run, r => r with { Phase = RunPhase.Completed, Result = c.Metrics }),
        RunFailed f => With(f.Run, r => r with { Phase = RunPhase.Failed, Failure = f.Reason }),
        RunInterrupted x => With(x.Run, r => r with { Phase = RunPhase.Interrupted, Failure = x.Reason }),
        SweepCompleted => this with { Phase = SweepPhase.Completed },
        // The next start is a new attempt, with the whole restart budget.
        RunRetried t => With(t.Run, r => r with { Phase = RunPhase.Pending, Failure = null, RestartsAtRetry = r.Restarts, Attempt = r.Attempt + 1 })
            with { Phase = SweepPhase.Running },
        _ => throw new ArgumentException($"unknown event {e.GetType().Name}"),
    };

    SweepState With(RunId id, Func<RunStatus, RunStatus> change)
    {
        var i = IndexOf(id);
        return i < 0 ? throw new InvalidOperationException($"event for unknown run {id} in sweep {Id}") : this with { Runs = Runs.SetItem(i, change(Runs[i])) };
    }
}
