using Akka.Actor;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;
using WeSaR.Training.Data;

namespace WeSaR.Actors.Hosting;

/// <summary>How a sweep run in this process ended.</summary>
public abstract record SweepOutcome
{
    /// <summary>Every run ended (completed or failed).</summary>
    public sealed record Finished(SweepState State, IReadOnlyList<RunRecord> Runs) : SweepOutcome;

    /// <summary>Nothing was started: bad data, an unknown sweep, a sweep another process runs.</summary>
    public sealed record Refused(string Reason) : SweepOutcome;

    /// <summary>The journal cannot be read or written (a damaged file, a refused login, no server); nothing was started.</summary>
    public sealed record JournalUnreadable(string Reason) : SweepOutcome;

    /// <summary>Stopped on request (<see cref="SweepRunner.Stop"/>): every run checkpointed and committed first.</summary>
    public sealed record Stopped : SweepOutcome;

    /// <summary>The sweep stopped by itself with nothing lost and no restart spent (a full disk, a journal that refused a write).</summary>
    public sealed record Halted(string Reason) : SweepOutcome;

    /// <summary>The coordinator stopped by itself, which a persistent actor does when its journal fails.</summary>
    public sealed record CoordinatorStopped : SweepOutcome;
}

/// <summary>What a sweep shows while it runs; the command that runs it draws it.</summary>
public interface ISweepScreen
{
    /// <summary>A line of progress outside the runs (data preparation).</summary>
    void Say(string line);

    /// <summary>A config warning that does not stop the sweep.</summary>
    void Warn(string line);

    /// <summary>The runs are about to start (<paramref name="known"/>: what the journal already held, null for a new sweep).</summary>
    void Starting(ActorSystem system, SweepState initial, SweepState? known);

    /// <summary>The sweep has ended: the screen's last drawing, before the caller prints the outcome.</summary>
    Task Finishing();
}

/// <summary>
/// One sweep in this process from start to end: data checked before anything is written, the journal checked, the
/// sweep's lock taken, the coordinator started, and a graceful stop on request (every run finishes its step,
/// checkpoints and commits). `wesar sweep run` and `sweep resume` only parse, call <see cref="Run"/> and print.
/// </summary>
public sealed class SweepRunner(OrchestratorSettings settings, Akka.Configuration.Config config, string workdir, ISweepScreen screen)
{
    // Set from a signal handler's thread.
    volatile Action? stop;
    volatile bool stopRequested;

    /// <summary>
    /// Runs <paramref name="definition"/> (a new or known sweep), or resumes <paramref name="id"/> from the journal when
    /// it is null; <paramref name="retry"/> first gives failed runs another go (<see cref="RetryRuns"/>).
    /// </summary>
    public async Task<SweepOutcome> Run(SweepDefinition? definition, SweepId id, RetryRuns? retry = null)
    {
        // Data that cannot serve a run is refused before the journal exists; a resumed sweep's runs (known only from
        // the journal) are checked once it is read.
        if (definition is not null && PrepareData(definition.Runs, settings.SharedDirFor(workdir)) is { } bad) return new SweepOutcome.Refused(bad);
        // A resume with no SQLite journal to read must not create one.
        if (definition is null && settings.Journal.Provider == JournalProvider.Sqlite && !File.Exists(Path.Combine(workdir, settings.Journal.SqliteFile)))
            return new SweepOutcome.Refused(SweepRejected.NoSweep(id.Value, workdir));
        if (OrchestratorHost.JournalProblem(settings, workdir, readOnly: false) is { } unreadable) return new SweepOutcome.JournalUnreadable(unreadable);

        OrchestratorHost started;
        try { started = OrchestratorHost.Start(settings, config, workdir); }
        catch (MetricsUnavailableException e) { return new SweepOutcome.Refused(e.Message); }
        await using var host = started;
        var known = await host.History.Load(id);
        if (definition is null && known is null) return new SweepOutcome.Refused(SweepRejected.NoSweep(id.Value, workdir));
        if (retry is not null && known!.Retry(retry.Runs, DateTime.UtcNow).Problem is { } notRetried) return new SweepOutcome.Refused(notRetried);
        var initial = known ?? SweepState.Empty(id).Start(definition!, DateTime.UtcNow).Aggregate(SweepState.Empty(id), (s, e) => s.Apply(e));
        if (definition is null && PrepareData(initial.Runs.Where(r => !r.Ended || (retry is not null && r.Phase == RunPhase.Failed)).Select(r => r.Spec),
                host.SharedDir) is { } problem)
            return new SweepOutcome.Refused(problem);
        IDisposable sweepLock;
        try { sweepLock = host.LockSweep(id); }
        catch (InvalidOperationException e) { return new SweepOutcome.Refused(e.Message); }
        using var _ = sweepLock;

        screen.Starting(host.System, initial, known);
        var coordinator = host.Coordinator(id);
        var shutdown = CoordinatedShutdown.Get(host.System);
        var gone = coordinator.WatchAsync();
        shutdown.AddTask(CoordinatedShutdown.PhaseServiceStop, "stop-runs", async () =>
        {
            // A coordinator stopped by a failed journal write can pause nothing: don't wait for it.
            await Task.WhenAny(coordinator.Ask<SweepStopped>(StopSweep.Instance, Timeout.InfiniteTimeSpan), gone);
            return Akka.Done.Instance;
        });
        stop = () => shutdown.Run(CoordinatedShutdown.ClrExitReason.Instance);
        if (stopRequested) stop();
        if (retry is not null && await coordinator.Ask<object>(retry, Timeout.InfiniteTimeSpan) is SweepRejected rejected)
            return new SweepOutcome.Refused(rejected.Reason);

        object result;
        while (true)
        {
            var answer = coordinator.Ask<object>(new Begin(definition), Timeout.InfiniteTimeSpan);
            await Task.WhenAny(answer, gone);
            // A coordinator that stops on a failed write answers why first, but its Terminated can overtake the answer.
            if (!answer.IsCompleted) await Task.WhenAny(answer, Task.Delay(TimeSpan.FromSeconds(2)));
            result = answer.IsCompletedSuccessfully ? answer.Result : "stopped";
            if (result is not SweepHalted { JournalOutage: true } outage || stopRequested || shutdown.ShutdownReason is not null) break;
            // The journal's server stopped answering: the runs stopped at their last commit. Once it answers again, a
            // new coordinator recovers from it and places them again; nothing is lost and no restart is spent.
            screen.Warn($"{outage.Reason}; waiting up to {settings.Journal.OutagePatience} for the journal to answer again");
            if (!await JournalAnswers(settings.Journal.OutagePatience))
            {
                result = new SweepHalted($"{outage.Reason}, and it did not answer again within {settings.Journal.OutagePatience}");
                break;
            }
            await gone;   // its name is free for the next one
            coordinator = host.Coordinator(id);
            gone = coordinator.WatchAsync();
            screen.Say("the journal answers again; continuing the sweep");
        }
        await screen.Finishing();
        switch (result)
        {
            case SweepFinished f:
                return new SweepOutcome.Finished(f.State, await host.History.Runs(f.State.Id));
            case SweepRejected r:
                return new SweepOutcome.Refused(r.Reason);
            case SweepHalted h:
                return new SweepOutcome.Halted(h.Reason);
            // Stopped by CoordinatedShutdown (ours, or the runtime's on a signal): the coordinator paused every run first.
            // A journal failure stops the coordinator alone.
            case not null when stopRequested || shutdown.ShutdownReason is not null:
                await host.System.WhenTerminated;
                return new SweepOutcome.Stopped();
            default:
                return new SweepOutcome.CoordinatorStopped();
        }
    }

    static readonly Backoff JournalPolls = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));

    // Polls the journal (a login, or SQLite's integrity check) until it answers or the patience runs out.
    async Task<bool> JournalAnswers(TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        for (var n = 0; !stopRequested; n++)
        {
            if (OrchestratorHost.JournalProblem(settings, workdir, readOnly: false) is null) return true;
            var wait = JournalPolls.Delay(n);
            if (DateTime.UtcNow + wait > deadline) return false;
            await Task.Delay(wait);
        }
        return false;
    }

    /// <summary>Stops the sweep gracefully: every run finishes its step, checkpoints and commits, then <see cref="Run"/> returns <see cref="SweepOutcome.Stopped"/>.</summary>
    public void Stop()
    {
        stopRequested = true;
        stop?.Invoke();
    }

    /// <summary>
    /// Says the runs' config warnings, then tokenizes each distinct corpus once before trainers start, so concurrent
    /// runs never race on the cache. Returns why the data cannot serve a run, or null.
    /// </summary>
    string? PrepareData(IEnumerable<RunSpec> runs, string sharedDir)
    {
        var all = runs.Select(r => r.Settings([])).ToList();
        foreach (var w in all.SelectMany(s => s.Warnings()).Distinct()) screen.Warn(w);
        foreach (var s in all.DistinctBy(s => (s.Data, s.Model.BlockSize)))
        {
            try { using var _ = DataSource.OpenFor(s, sharedDir, screen.Say); }
            catch (ConfigException e) { return e.Message; }
        }
        return null;
    }
}
