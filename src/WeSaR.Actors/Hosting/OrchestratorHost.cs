using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Placement;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;

namespace WeSaR.Actors.Hosting;

/// <summary>
/// One orchestrator process: the ActorSystem with its journal, this machine's slots and the sweeps it coordinates.
/// The only place that turns settings into Akka configuration.
/// </summary>
public sealed class OrchestratorHost : IAsyncDisposable
{
    public static Config Defaults { get; } = ConfigurationFactory.ParseString(ReadDefaults());

    public ActorSystem System { get; }
    public OrchestratorSettings Settings { get; }
    public string Workdir { get; }
    public SweepHistory History { get; }
    readonly Lazy<IActorRef> placement;

    OrchestratorHost(ActorSystem system, OrchestratorSettings settings, string workdir)
    {
        (System, Settings, Workdir) = (system, settings, workdir);
        History = new SweepHistory(system);
        var context = new SlotContext(workdir, settings.Restarts, settings.AskTimeout, Environment.MachineName);
        placement = new Lazy<IActorRef>(() => system.ActorOf(LocalPlacement.Props(settings.Slots, context), "placement"));
    }

    /// <summary>Merges defaults, an optional file and --set overrides (orchestrator.* and akka.* keys) and checks them.</summary>
    public static (OrchestratorSettings, Config) LoadConfig(string? file, IEnumerable<string> overrides)
    {
        var config = ConfigLoader.Layer(Defaults, overrides, file is null ? [] : [file]);
        return (OrchestratorSettings.From(config), config);
    }

    public static OrchestratorHost Start(OrchestratorSettings settings, Config config, string workdir)
    {
        workdir = Path.GetFullPath(workdir);
        var system = ActorSystem.Create("wesar", SystemConfig(settings, config, workdir));
        var threads = settings.Slots.Where(s => s.Device == "cpu").Select(s => s.Threads).FirstOrDefault();
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);   // process-wide: every CPU slot shares it
        return new OrchestratorHost(system, settings, workdir);
    }

    /// <summary>The ActorSystem's configuration: <paramref name="config"/> with the journal's connection filled in.</summary>
    public static Config SystemConfig(OrchestratorSettings settings, Config config, string workdir)
    {
        Directory.CreateDirectory(workdir);
        var (connection, provider) = settings.Journal.Provider switch
        {
            JournalProvider.Sqlite => (SqliteJournal(Path.Combine(workdir, settings.Journal.SqliteFile)), "SQLite.MS"),
            _ => (settings.Journal.PostgreSql, "PostgreSQL.15"),
        };
        var journal = ConfigurationFactory.ParseString(string.Join("\n",
            from section in new[] { "akka.persistence.journal.sql", "akka.persistence.query.journal.sql", "akka.persistence.snapshot-store.sql" }
            select $"{section} {{ connection-string = {Quote(connection)}, provider-name = {Quote(provider)} }}"));
        return journal.WithFallback(config);
    }

    /// <summary>The coordinator of one sweep (created on first use), recovering from the journal.</summary>
    public IActorRef Coordinator(SweepId id) =>
        System.ActorOf(SweepCoordinator.Props(id, new CoordinatorContext(placement.Value, Settings.SnapshotEvery, Environment.MachineName)), "sweep-" + id);

    /// <summary>
    /// Holds the sweep for this process until disposed: a second process that tries to run it gets a clear error
    /// rather than a journal conflict. The OS drops the lock when the process dies, kill -9 included.
    /// </summary>
    public IDisposable LockSweep(SweepId id)
    {
        var path = Path.Combine(Workdir, "sweeps", id.Value + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) { throw new InvalidOperationException($"sweep {id} is already running in another process (lock: {path})"); }
    }

    // WAL halves write latency and lets `sweep status` read while a sweep writes; it can only be set by PRAGMA
    // and stays with the file.
    static string SqliteJournal(string file)
    {
        file = Path.GetFullPath(file);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var cs = new SqliteConnectionStringBuilder { DataSource = file, DefaultTimeout = 60 }.ToString();
        using var c = new SqliteConnection(cs);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL;";
        cmd.ExecuteNonQuery();
        return cs;
    }

    static string Quote(string s) => global::System.Text.Json.JsonSerializer.Serialize(s);

    static string ReadDefaults()
    {
        using var s = typeof(OrchestratorHost).Assembly.GetManifestResourceStream("WeSaR.Actors.orchestrator.conf")!;
        return new StreamReader(s).ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        SqliteConnection.ClearAllPools();
    }
}
