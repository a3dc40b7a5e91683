using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using WeSaR.Actors;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar sweep run|resume|retry|status|list|compare|goodput|stability`: unattended sweeps over the actor orchestrator and its journal.</summary>
public static class SweepCommand
{
    static readonly Option<string?> OrchestratorConfig = new("--config", "-c")
    {
        Description = "HOCON orchestrator config (journal, slots, restarts); defaults: hocon/orchestrator.conf",
    };

    static readonly Option<string[]> Set = new("--set", "-s")
    {
        Description = "Override a key: orchestrator.* and akka.* keys configure the orchestrator, any other key every run "
                      + "(e.g. --set data.path=corpus.txt --set orchestrator.slots.cpu=2)",
    };

    static readonly Option<bool> Json = new("--json") { Description = "Print JSON instead of a table" };

    static readonly Option<string[]> ClusterContacts = new("--cluster")
    {
        Description = "Run it on a cluster instead of this process: nodes to contact as host:port (repeat or comma-separate; any node will do)",
        AllowMultipleArgumentsPerToken = true,
    };

    static readonly Option<bool> Detach = new("--detach") { Description = "With --cluster: submit and return at once instead of following the sweep to its end" };

    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Sweep definition, e.g. hocon/sweeps/quickstart.conf" };
        var run = new Command("run", "Start a sweep (or continue it, if this file's sweep is already in the journal) and wait for every run")
            { file, OrchestratorConfig, Set, ClusterContacts, Detach };
        run.SetAction((r, ct) => Run(r.GetValue(file)!, null, r.GetValue(OrchestratorConfig), r.GetValue(Set) ?? [], Workdir(r), Contacts(r), r.GetValue(Detach)));

        var id = new Argument<string>("sweep-id") { Description = "The sweep's id, as printed by `sweep run` and `sweep list`" };
        var resume = new Command("resume", "Continue an unfinished sweep from the journal: completed runs stay done, the others resume from their last committed checkpoint")
            { id, OrchestratorConfig, Set, ClusterContacts, Detach };
        resume.SetAction((r, ct) => Run(null, r.GetValue(id)!, r.GetValue(OrchestratorConfig), r.GetValue(Set) ?? [], Workdir(r), Contacts(r), r.GetValue(Detach)));

        var retryId = new Argument<string>("sweep-id") { Description = "The sweep's id" };
        var retryRuns = new Option<string[]>("--run") { Description = "A failed or interrupted run to retry: its id or a prefix of it (repeat for several)" };
        var failed = new Option<bool>("--failed") { Description = "Retry every failed run of the sweep" };
        var retry = new Command("retry", "Give failed (or, with --run, interrupted) runs another go from their last committed checkpoint, with a fresh restart budget, and run the sweep until they end")
            { retryId, retryRuns, failed, OrchestratorConfig, Set };
        retry.SetAction((r, ct) =>
        {
            var runs = r.GetValue(retryRuns) ?? [];
            if (runs.Length > 0 == r.GetValue(failed)) return Task.FromResult(GlobalOptions.Fail("sweep retry: name runs with --run, or retry every failed run with --failed"));
            return Run(null, r.GetValue(retryId)!, r.GetValue(OrchestratorConfig), r.GetValue(Set) ?? [], Workdir(r), [], false,
                new RetryRuns(runs.Length > 0 ? runs : null));
        });

        var statusId = new Argument<string>("sweep-id") { Description = "The sweep's id" };
        var status = new Command("status", "Show a sweep's runs: state, step, loss, spikes, rollbacks (read from the journal; safe while it runs)")
            { statusId, Json, HistoryAccess.Config, HistoryAccess.Set };
        status.SetAction((r, ct) => Status(r.GetValue(statusId)!, r.GetValue(Json), HistoryAccess.Source(r), Workdir(r)));

        var list = new Command("list", "List the sweeps in the journal") { Json, HistoryAccess.Config, HistoryAccess.Set };
        list.SetAction((r, ct) => List(r.GetValue(Json), HistoryAccess.Source(r), Workdir(r)));

        var compareId = new Argument<string>("sweep-id") { Description = "The sweep's id" };
        var by = new Option<string>("--by")
        {
            Description = "Keys to group by, comma-separated: scheme, lr, seed or any config key; with two, the second makes the columns",
            DefaultValueFactory = _ => "scheme,lr",
        };
        var compare = new Command("compare", "Mean ± std of the final validation loss and the spike count over seeds, per group; best per column marked")
            { compareId, by, Json, HistoryAccess.Config, HistoryAccess.Set };
        compare.SetAction((r, ct) => Compare(r.GetValue(compareId)!, r.GetValue(by)!, r.GetValue(Json), HistoryAccess.Source(r), Workdir(r)));

        var goodputId = new Argument<string>("sweep-id") { Description = "The sweep's id" };
        var goodput = new Command("goodput", "Where each run's time went (useful training, steps redone after rollbacks and restarts, "
                                             + "checkpoint stall, recovery, waiting for a slot) and the effective-training-time ratio, from the journal")
            { goodputId, Json, HistoryAccess.Config, HistoryAccess.Set };
        goodput.SetAction((r, ct) => Goodput(r.GetValue(goodputId)!, r.GetValue(Json), HistoryAccess.Source(r), Workdir(r)));

        var stabilityId = new Argument<string>("sweep-id") { Description = "The sweep's id" };
        var stability = new Command("stability", "Each spike and whether the early warning (spike.risk) was raised before it and how many steps ahead, "
                                                 + "the risks no spike followed (false alarms per 1,000 trained steps), and the rollbacks by cost in steps, from the journal")
            { stabilityId, Json, HistoryAccess.Config, HistoryAccess.Set };
        stability.SetAction((r, ct) => Stability(r.GetValue(stabilityId)!, r.GetValue(Json), HistoryAccess.Source(r), Workdir(r)));

        return new Command("sweep", "Sweeps across init schemes, learning rates and seeds that undo spikes and survive crashes")
            { run, resume, retry, status, list, compare, goodput, stability };
    }

    static string Workdir(ParseResult r) => r.GetValue(GlobalOptions.Workdir)!;

    static string[] Contacts(ParseResult r) =>
        (r.GetValue(ClusterContacts) ?? []).SelectMany(c => c.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray();

    static bool IsOrchestratorKey(string set) => set.StartsWith("orchestrator.", StringComparison.Ordinal) || set.StartsWith("akka.", StringComparison.Ordinal);

    static async Task<int> Run(string? file, string? id, string? configFile, string[] sets, string workdir, string[] contacts, bool detach,
        RetryRuns? retry = null)
    {
        if (detach && contacts.Length == 0) return GlobalOptions.Fail("--detach needs --cluster: a sweep in this process ends with the process");
        OrchestratorSettings settings;
        Akka.Configuration.Config config;
        SweepDefinition? definition = null;
        try
        {
            (settings, config) = OrchestratorHost.LoadConfig(configFile, sets.Where(IsOrchestratorKey), cluster: contacts.Length > 0);
            if (contacts.Length == 0)
                foreach (var slot in settings.Slots) Trainer.ResolveDevice(slot.Device);   // a CUDA slot on a machine without CUDA
            foreach (var c in contacts.Where(c => !ClusterSettings.IsHostPort(c)))
                return GlobalOptions.Fail($"--cluster: expected host:port, got '{c}'");
            if (file is not null)
                definition = SweepDefinition.Load(file, sets.Where(s => !IsOrchestratorKey(s)), settings.Restarts.Max);
            else if (sets.Any(s => !IsOrchestratorKey(s)))
                return GlobalOptions.Fail("sweep resume takes orchestrator.* overrides only: a sweep's runs are fixed when it starts");
        }
        catch (Exception e) when (e is ConfigException or InvalidOperationException) { return GlobalOptions.Fail(e.Message); }

        var sweepId = definition?.Id ?? new SweepId(id!);
        if (contacts.Length > 0) return await ClusterSweep.Run(definition, sweepId, settings, config, contacts, detach, workdir);
        Logging.Start(workdir);
        try
        {
            var runner = new SweepRunner(settings, config, workdir, new SweepScreen(settings.Slots, workdir));
            GlobalOptions.OnCtrlC("stopping: every run finishes its step, checkpoints and commits", runner.Stop, sigterm: true);
            switch (await runner.Run(definition, sweepId, retry))
            {
                case SweepOutcome.Finished f:
                    PrintSummary(f.State, f.Runs, settings.SharedDirFor(workdir));
                    return f.State.Runs.Any(r => r.Phase == RunPhase.Failed) ? GlobalOptions.Failed : 0;
                case SweepOutcome.Refused r:
                    return GlobalOptions.Fail(r.Reason);
                case SweepOutcome.JournalUnreadable j:
                    return GlobalOptions.Fail(j.Reason, GlobalOptions.Failed);
                case SweepOutcome.Halted h:
                    return GlobalOptions.Fail($"the sweep stopped: {h.Reason}. Nothing is lost and no restart was spent; once that is fixed, "
                                              + $"continue with: {ResumeCommand(workdir, sweepId, configFile, sets)}", GlobalOptions.Failed);
                case SweepOutcome.Stopped:
                    Console.WriteLine($"stopped; continue with: {ResumeCommand(workdir, sweepId, configFile, sets)}");
                    return GlobalOptions.Interrupted;
                default:
                    // A persistent actor stops when its journal fails; nothing is lost, the journal holds what was done.
                    return GlobalOptions.Fail($"the sweep coordinator stopped (journal unavailable?); see the log in {Path.Combine(workdir, "logs")}; "
                                              + $"resume with: {ResumeCommand(workdir, sweepId, configFile, sets)}", GlobalOptions.Failed);
            }
        }
        finally { Logging.Stop(); }
    }

    /// <summary>
    /// The command that continues this sweep, as it works when pasted: the same journal (its provider and config
    /// file, orchestrator.* and akka.* overrides), never the run overrides, which the journal already holds.
    /// </summary>
    static string ResumeCommand(string workdir, SweepId id, string? configFile, IEnumerable<string> sets) =>
        string.Join(" ", new[] { "wesar", "--workdir", Shell(workdir), "sweep", "resume", id.Value }
            .Concat(configFile is null ? [] : ["--config", Shell(Path.GetFullPath(configFile))])
            .Concat(sets.Where(IsOrchestratorKey).SelectMany(s => new[] { "--set", Shell(s) })));

    // Quoted for a POSIX shell when it holds anything but safe characters.
    static string Shell(string s) => System.Text.RegularExpressions.Regex.IsMatch(s, @"^[\w./:=@%+,-]+$") ? s : "'" + s.Replace("'", "'\\''") + "'";

    static async Task<int> Status(string id, bool json, JournalSource source, string workdir)
    {
        return await HistoryAccess.With(source, workdir, async host =>
        {
            if (await host.History.Read(new SweepId(id)) is not { } sweep) return GlobalOptions.Fail(SweepRejected.NoSweep(id, workdir));
            var view = new SweepView(sweep.State.Id.Value, sweep.State.Name, Phase(sweep.State.Phase), sweep.Runs);
            if (json) Console.WriteLine(JsonSerializer.Serialize(view, Tables.Json));
            else PrintTable(view);
            return 0;
        });
    }

    static async Task<int> List(bool json, JournalSource source, string workdir)
    {
        return await HistoryAccess.With(source, workdir, async host =>
        {
            var sweeps = (await host.History.All()).Select(s => new SweepListItem(s.Id.Value, s.Name, Phase(s.Phase), s.Runs.Count,
                s.Runs.Count(r => r.Phase == RunPhase.Completed), s.Runs.Count(r => r.Phase == RunPhase.Failed))).ToList();
            if (json) Console.WriteLine(JsonSerializer.Serialize(sweeps, Tables.Json));
            else if (sweeps.Count == 0) Console.WriteLine($"no sweeps in {workdir}");
            else Tables.Sweeps([.. sweeps.Select(s => (s.Id, s.State, s.Runs, s.Completed, s.Failed))]);
            return 0;
        });
    }

    static async Task<int> Compare(string id, string by, bool json, JournalSource source, string workdir)
    {
        var keys = by.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (Comparison.Problem(keys) is { } problem) return GlobalOptions.Fail(problem);
        return await HistoryAccess.With(source, workdir, async host =>
        {
            var runs = await host.History.Runs(new SweepId(id));
            if (runs.Count == 0) return GlobalOptions.Fail(SweepRejected.NoSweep(id, workdir));
            var cells = Comparison.Build(runs, keys);
            if (json) Tables.PrintJson(cells);
            else Tables.Comparison(keys, cells);
            return 0;
        });
    }

    static async Task<int> Goodput(string id, bool json, JournalSource source, string workdir)
    {
        return await HistoryAccess.With(source, workdir, async host =>
        {
            if (await host.History.Read(new SweepId(id)) is not { } sweep) return GlobalOptions.Fail(SweepRejected.NoSweep(id, workdir));
            var goodput = Actors.Queries.Goodput.Read(sweep.State, sweep.Events, host.SharedDir);
            if (json) Tables.PrintJson(goodput);
            else Tables.Goodput(goodput);
            return 0;
        });
    }

    static async Task<int> Stability(string id, bool json, JournalSource source, string workdir)
    {
        return await HistoryAccess.With(source, workdir, async host =>
        {
            if (await host.History.Read(new SweepId(id)) is not { } sweep) return GlobalOptions.Fail(SweepRejected.NoSweep(id, workdir));
            var stability = Actors.Queries.Stability.Of(sweep.State.Id, sweep.Events);
            if (json) Tables.PrintJson(stability);
            else Tables.Stability(stability);
            return 0;
        });
    }

    sealed record SweepListItem(string Id, string Name, string State, int Runs, int Completed, int Failed);

    sealed record SweepView(string Id, string Name, string State, IReadOnlyList<RunRecord> Runs);

    static string Phase(SweepPhase p) => p.ToString().ToLowerInvariant();

    static void PrintTable(SweepView v)
    {
        Console.WriteLine($"sweep {v.Id} ({v.State})");
        Tables.Runs(v.Runs);
        foreach (var r in v.Runs.Where(r => r.Failure is not null)) Console.WriteLine($"{r.Sweep}/{r.Run} ({r.Label}) failed: {r.Failure}");
    }

    /// <summary>The final table; run folders (with their metrics files) are under <paramref name="sharedDir"/>.</summary>
    public static void PrintSummary(SweepState s, IReadOnlyList<RunRecord> runs, string sharedDir)
    {
        Console.WriteLine();
        PrintTable(new SweepView(s.Id.Value, s.Name, Phase(s.Phase), runs));
        var folders = Path.Combine(Path.GetFullPath(sharedDir), "sweeps", s.Id.Value);
        if (Directory.Exists(folders)) Console.WriteLine($"run folders: {folders}");
    }

}
