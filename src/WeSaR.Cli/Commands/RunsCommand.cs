using System.CommandLine;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar runs list|show|events|export`: the run history in the journal, as tables or JSON.</summary>
public static class RunsCommand
{
    static readonly Option<bool> Json = new("--json") { Description = "Print JSON instead of a table" };
    static readonly Option<string?> Sweep = new("--sweep") { Description = "Only runs of this sweep" };

    public static Command Create()
    {
        var state = new Option<string?>("--state") { Description = "Only runs in this state: pending, running, completed or failed" };
        var scheme = new Option<string?>("--scheme") { Description = "Only runs with this init scheme, e.g. wesar(he)" };
        var list = new Command("list", "Runs with state, steps, final loss, spikes, rollbacks, restarts, wall time and device") { Sweep, state, scheme, Json, HistoryAccess.Config, HistoryAccess.Set };
        list.SetAction((r, ct) => List(r.GetValue(Sweep), r.GetValue(state), r.GetValue(scheme), r.GetValue(Json), HistoryAccess.Source(r), Workdir(r)));

        var runArg = new Argument<string>("run") { Description = "<sweep-id>/<run-id>, a run id, or a unique prefix" };
        var show = new Command("show", "One run: its summary and its whole config") { runArg, Json, HistoryAccess.Config, HistoryAccess.Set };
        show.SetAction((r, ct) => Show(r.GetValue(runArg)!, r.GetValue(Json), HistoryAccess.Source(r), Workdir(r)));

        var eventsArg = new Argument<string>("run") { Description = "<sweep-id>/<run-id>, a run id, or a unique prefix" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events until the run ends (or Ctrl-C)" };
        var events = new Command("events", "The run's audit trail: every journal event about it, in order") { eventsArg, follow, Json, HistoryAccess.Config, HistoryAccess.Set };
        events.SetAction((r, ct) => Events(r.GetValue(eventsArg)!, r.GetValue(follow), r.GetValue(Json), HistoryAccess.Source(r), Workdir(r), ct));

        var format = new Option<string>("--format") { Description = "csv or jsonl", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "jsonl");
        var output = new Option<string?>("--out", "-o") { Description = "File to write (default: standard output)" };
        var export = new Command("export", "All run records (one per run) as CSV or JSON lines, for pandas, R or a spreadsheet") { format, output, Sweep, HistoryAccess.Config, HistoryAccess.Set };
        export.SetAction((r, ct) => Export(r.GetValue(format)!, r.GetValue(output), r.GetValue(Sweep), HistoryAccess.Source(r), Workdir(r)));

        return new Command("runs", "The run history in the journal: list, show, audit trail, export") { list, show, events, export };
    }

    static string Workdir(ParseResult r) => r.GetValue(GlobalOptions.Workdir)!;

    static Task<int> List(string? sweep, string? state, string? scheme, bool json, JournalSource source, string workdir) =>
        HistoryAccess.With(source, workdir, async host =>
        {
            var runs = (await host.History.Runs(sweep is null ? null : new SweepId(sweep)))
                .Where(r => state is null || r.State.Name() == state).Where(r => scheme is null || r.Scheme == scheme).ToList();
            if (json) Tables.PrintJson(runs);
            else if (runs.Count == 0) Console.WriteLine("no runs match");
            else Tables.Runs(runs);
            return 0;
        });

    static Task<int> Show(string name, bool json, JournalSource source, string workdir) =>
        HistoryAccess.With(source, workdir, async host =>
        {
            var (run, problem) = HistoryAccess.Find(await host.History.Runs(), name);
            if (run is null) return GlobalOptions.Fail(problem!);
            if (json)
            {
                Tables.PrintJson(new { run, config = run.Config });
                return 0;
            }
            var grid = new Grid().AddColumn().AddColumn();
            foreach (var (k, v) in Fields(run)) grid.AddRow(Markup.Escape(k), Markup.Escape(v));
            AnsiConsole.Write(grid);
            Console.WriteLine();
            Console.WriteLine("config:");
            Console.WriteLine(Tables.Readable(run.Config));
            return 0;
        });

    static IEnumerable<(string, string)> Fields(RunRecord r) =>
    [
        ("run", $"{r.Sweep}/{r.Run}"), ("label", r.Label), ("state", r.State.Name()), ("step", $"{r.Step}/{r.Steps}"),
        ("val loss", Tables.Num(r.ValLoss)), ("val perplexity", Tables.Num(r.ValPpl, "F2")), ("last train loss", Tables.Num(r.LastLoss)),
        ("spikes", r.Spikes.ToString()), ("rollbacks", r.Rollbacks.ToString()), ("restarts", r.Restarts.ToString()),
        ("tokens/s", Tables.Num(r.TokensPerS, "N0")), ("wall time", Tables.Duration(r.WallSeconds)), ("node", r.Node ?? "-"),
        ("slot", r.Slot ?? "-"), ("device", r.Device ?? "-"), ("started", r.StartedUtc?.ToString("u") ?? "-"), ("ended", r.EndedUtc?.ToString("u") ?? "-"),
        ("model sha256", r.ModelSha256 ?? "-"), ("failure", r.Failure ?? "-"),
    ];

    static Task<int> Events(string name, bool follow, bool json, JournalSource source, string workdir, CancellationToken ct) =>
        HistoryAccess.With(source, workdir, async host =>
        {
            var (run, problem) = HistoryAccess.Find(await host.History.Runs(), name);
            if (run is null) return GlobalOptions.Fail(problem!);
            var id = new RunId(run.Run);
            bool Mine(JournalEvent e) => e.Event is IRunEvent r && r.Run == id;
            void Print(JournalEvent e)
            {
                if (!Mine(e)) return;
                if (json) Console.WriteLine(JsonSerializer.Serialize(new { offset = e.Offset, at = e.AtUtc, type = e.Event.GetType().Name, @event = (object)e.Event },
                    new JsonSerializerOptions(Tables.Json) { WriteIndented = false }));
                else Console.WriteLine($"{e.AtUtc:yyyy-MM-dd HH:mm:ss.fff}  #{e.SequenceNr,-6} {Tables.Describe(e.Event)}");
            }
            if (!follow)
            {
                foreach (var e in await host.History.Events(new SweepId(run.Sweep))) Print(e);
                return 0;
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            await host.History.Follow(new SweepId(run.Sweep), Print, e => Mine(e) && e.Event is RunCompleted or RunFailed, cts.Token);
            return 0;
        });

    static Task<int> Export(string format, string? output, string? sweep, JournalSource source, string workdir) =>
        HistoryAccess.With(source, workdir, async host =>
        {
            var runs = await host.History.Runs(sweep is null ? null : new SweepId(sweep));
            using var file = output is null ? null : new StreamWriter(output, false, new UTF8Encoding(false));
            var writer = file ?? Console.Out;
            if (format == "jsonl")
                foreach (var r in runs) writer.WriteLine(JsonSerializer.Serialize(r, new JsonSerializerOptions(Tables.Json) { WriteIndented = false }));
            else
            {
                string[] header = ["sweep", "run", "label", "scheme", "lr", "seed", "state", "step", "steps", "spikes", "rollbacks", "restarts",
                    "val_loss", "val_ppl", "last_loss", "tokens_per_s", "wall_seconds", "node", "slot", "device", "started_utc", "ended_utc", "failure"];
                writer.WriteLine(string.Join(",", header));
                foreach (var r in runs)
                    writer.WriteLine(string.Join(",", new object?[] { r.Sweep, r.Run, r.Label, r.Scheme, r.Lr, r.Seed, r.State.Name(), r.Step, r.Steps, r.Spikes,
                        r.Rollbacks, r.Restarts, r.ValLoss, r.ValPpl, r.LastLoss, r.TokensPerS, r.WallSeconds, r.Node, r.Slot, r.Device,
                        r.StartedUtc?.ToString("o"), r.EndedUtc?.ToString("o"), r.Failure }.Select(Tables.Csv)));
            }
            if (output is not null) Console.Error.WriteLine($"wrote {runs.Count} run(s) to {output}");
            return 0;
        });
}
