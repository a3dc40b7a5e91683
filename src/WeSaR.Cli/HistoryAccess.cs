using WeSaR.Actors;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Queries;
using WeSaR.Training.Config;

namespace WeSaR.Cli;

/// <summary>Opens the journal of a work folder for reading (status, runs, compare, report): no run is started.</summary>
public static class HistoryAccess
{
    public static async Task<int> With(string? configFile, string workdir, Func<OrchestratorHost, Task<int>> body)
    {
        OrchestratorSettings settings;
        Akka.Configuration.Config config;
        try { (settings, config) = OrchestratorHost.LoadConfig(configFile, []); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        if (settings.Journal.Provider == JournalProvider.Sqlite && !File.Exists(Path.Combine(workdir, settings.Journal.SqliteFile)))
            return GlobalOptions.Fail($"no journal in {workdir}: run a sweep first (wesar --workdir {workdir} sweep run <file>)");
        // Reads only: keep Akka's own logging quiet on the console.
        await using var host = OrchestratorHost.Start(settings, config.WithFallback(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING")), workdir);
        return await body(host);
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
