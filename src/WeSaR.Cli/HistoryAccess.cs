using System.CommandLine;
using WeSaR.Actors;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Queries;
using WeSaR.Training.Config;

namespace WeSaR.Cli;

/// <summary>Which journal a read-only command reads: an orchestrator config file and --set overrides.</summary>
public sealed record JournalSource(string? ConfigFile, IReadOnlyList<string> Sets);

/// <summary>Opens the journal of a work folder for reading (status, runs, compare, report): no run is started.</summary>
public static class HistoryAccess
{
    public static readonly Option<string?> Config = new("--config", "-c") { Description = "HOCON orchestrator config (which journal to read)" };

    public static readonly Option<string[]> Set = new("--set", "-s")
    {
        Description = "Override an orchestrator key, e.g. --set orchestrator.journal.provider=postgresql (the connection string comes from $WESAR_POSTGRES)",
    };

    public static JournalSource Source(ParseResult r) => new(r.GetValue(Config), r.GetValue(Set) ?? []);

    public static async Task<int> With(JournalSource source, string workdir, Func<OrchestratorHost, Task<int>> body)
    {
        OrchestratorSettings settings;
        Akka.Configuration.Config config;
        try { (settings, config) = OrchestratorHost.LoadConfig(source.ConfigFile, source.Sets); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        if (settings.Journal.Provider == JournalProvider.Sqlite && !File.Exists(Path.Combine(workdir, settings.Journal.SqliteFile)))
            return GlobalOptions.Fail($"no journal in {workdir}: run a sweep first (wesar --workdir {workdir} sweep run <file>)");
        if (OrchestratorHost.JournalProblem(settings, workdir, readOnly: true) is { } problem) return GlobalOptions.Fail(problem, GlobalOptions.Failed);
        try
        {
            // Reads only: keep Akka's own logging quiet on the console.
            await using var host = OrchestratorHost.Start(settings, config.WithFallback(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING")),
                workdir, readOnly: true);
            return await body(host);
        }
        // Damage the integrity check did not reach, or a server gone since: the same line, no stack trace.
        catch (Exception e) when (JournalAccess.Describe(e) is { } cause)
        {
            return GlobalOptions.Fail(JournalAccess.Unreadable(OrchestratorHost.JournalName(settings, workdir), cause), GlobalOptions.Failed);
        }
    }

    /// <summary>Finds a run by "sweep/run", a run id or a unique prefix of either.</summary>
    public static (RunRecord? Run, string? Problem) Find(IReadOnlyList<RunRecord> runs, string name)
    {
        var matches = runs.Where(r => $"{r.Sweep}/{r.Run}" == name || r.Run == name).ToList();
        if (matches.Count == 0) matches = runs.Where(r => r.Run.StartsWith(name, StringComparison.Ordinal) || $"{r.Sweep}/{r.Run}".StartsWith(name, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            1 => (matches[0], null),
            0 => (null, $"no run '{name}' in the journal (see `wesar runs list`)"),
            _ => (null, $"'{name}' matches {matches.Count} runs; name one as <sweep-id>/<run-id>: {string.Join(", ", matches.Take(5).Select(r => $"{r.Sweep}/{r.Run}"))}"),
        };
    }
}
