using WeSaR.Training.Config;

namespace WeSaR.Actors;

/// <summary>One training slot: a device a trainer runs on, e.g. "cpu-0" on cpu or "cuda-1" on cuda:1.</summary>
public sealed record SlotSpec(string Name, string Device, int Threads);

public enum JournalProvider { Sqlite, PostgreSql }

/// <summary>orchestrator.journal.*: where events live.</summary>
public sealed record JournalSettings(JournalProvider Provider, string SqliteFile, string PostgreSql)
{
    static readonly Dictionary<string, JournalProvider> Providers = new() { ["sqlite"] = JournalProvider.Sqlite, ["postgresql"] = JournalProvider.PostgreSql };

    public static JournalSettings From(ConfigReader r)
    {
        var s = new JournalSettings(r.OneOf("orchestrator.journal.provider", Providers), r.String("orchestrator.journal.sqlite-file"),
            r.String("orchestrator.journal.postgresql"));
        if (s.Provider == JournalProvider.PostgreSql && s.PostgreSql.Length == 0)
            r.Problem("orchestrator.journal.postgresql: a connection string is needed when the provider is postgresql");
        return s;
    }
}

/// <summary>orchestrator.restarts.*: the retry budget of a crashing run.</summary>
public sealed record RestartSettings(int Max, TimeSpan MinBackoff, TimeSpan MaxBackoff)
{
    public TimeSpan Backoff(int restart) =>
        TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, MinBackoff.Ticks * (1L << Math.Min(restart, 20))));
}

/// <summary>Everything the orchestrator reads from hocon/orchestrator.conf (and overrides).</summary>
public sealed record OrchestratorSettings(JournalSettings Journal, IReadOnlyList<SlotSpec> Slots, RestartSettings Restarts,
    int SnapshotEvery, TimeSpan AskTimeout)
{
    public static OrchestratorSettings From(Akka.Configuration.Config config)
    {
        var r = new ConfigReader(config);
        var threads = r.Int("orchestrator.slots.cpu-threads", 1);
        var cuda = r.StringList("orchestrator.slots.cuda");
        foreach (var c in cuda.Where(c => !System.Text.RegularExpressions.Regex.IsMatch(c, @"^cuda:\d+$")))
            r.Problem($"orchestrator.slots.cuda: expected \"cuda:N\", got '{c}'");
        var cpu = r.Int("orchestrator.slots.cpu", 0);
        if (cpu == 0 && cuda.Count == 0) cpu = Math.Max(1, Environment.ProcessorCount / Math.Max(1, threads));
        var slots = Enumerable.Range(0, cpu).Select(i => new SlotSpec($"cpu-{i}", "cpu", threads))
            .Concat(cuda.Select(c => new SlotSpec(c.Replace(':', '-'), c, 0))).ToList();
        var s = new OrchestratorSettings(JournalSettings.From(r), slots,
            new RestartSettings(r.Int("orchestrator.restarts.max", 0), Duration(r, "orchestrator.restarts.min-backoff"),
                Duration(r, "orchestrator.restarts.max-backoff")),
            r.Int("orchestrator.snapshot-every", 1), Duration(r, "orchestrator.ask-timeout"));
        r.ThrowIfInvalid();
        return s;
    }

    static TimeSpan Duration(ConfigReader r, string path)
    {
        try { return r.Config.GetTimeSpan(path); }
        catch (Exception e) when (e is FormatException or Akka.Configuration.ConfigurationException)
        {
            r.Problem($"{path} must be a duration such as 5s, got '{r.Config.GetValue(path)}'");
            return TimeSpan.Zero;
        }
    }
}
