using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;
using Microsoft.Data.Sqlite;
using WeSaR.Actors.Cluster;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Placement;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;

namespace WeSaR.Actors.Hosting;

/// <summary>
/// One orchestrator process: the ActorSystem with its journal, this machine's slots and the sweeps it coordinates,
/// either on its own (`wesar sweep run`) or as a cluster member (`wesar node`). The only place that turns
/// settings into Akka configuration.
/// </summary>
public sealed class OrchestratorHost : IAsyncDisposable
{
    public static Config Defaults { get; } = HoconSyntax.Parse(ReadResource("orchestrator.conf"), "orchestrator.conf");
    static readonly Config ClusterDefaults = HoconSyntax.Parse(ReadResource("cluster.conf"), "cluster.conf");

    /// <summary>Where cluster clients send <see cref="SubmitSweep"/> and <see cref="QuerySweep"/>: the singleton's proxy on every node.</summary>
    public const string SweepsPath = "/user/sweeps";

    public ActorSystem System { get; }
    public OrchestratorSettings Settings { get; }
    public string Workdir { get; }
    /// <summary>Run folders and prepared data (orchestrator.shared-dir, else the work folder).</summary>
    public string SharedDir { get; }
    /// <summary>The read side, started on first use (cluster nodes never need it).</summary>
    public SweepHistory History => history.Value;
    readonly Lazy<SweepHistory> history;
    readonly Lazy<IActorRef> placement;
    readonly MetricsExporter? metrics;

    OrchestratorHost(ActorSystem system, OrchestratorSettings settings, string workdir, bool readOnly = false)
    {
        (System, Settings, Workdir) = (system, settings, workdir);
        SharedDir = settings.SharedDirFor(workdir);
        history = new Lazy<SweepHistory>(() => new SweepHistory(system, settings.AskTimeout, SharedDir));
        placement = new Lazy<IActorRef>(() => system.ActorOf(PlacementActor.Props(CreateSlots(Environment.MachineName)), "placement"));
        // A process that only reads the journal trains nothing to report.
        if (readOnly || settings.Metrics.Port == 0) return;
        try { metrics = MetricsExporter.Start(system, settings.Metrics); }
        catch (MetricsUnavailableException) { system.Terminate().Wait(); throw; }
    }

    /// <summary>
    /// This process's training slots (/user/slots). Each run sets LibTorch's (process-wide) thread count from its
    /// slot as it starts, so processes that only read the journal never load LibTorch.
    /// </summary>
    IActorRef CreateSlots(string node) =>
        System.ActorOf(NodeSlots.Props(Settings.Slots, new SlotContext(SharedDir, Settings.Restarts, Settings.AskTimeout, node)), NodeSlots.Name);

    /// <summary>
    /// Merges defaults, an optional file and --set overrides (orchestrator.* and akka.* keys) and checks them;
    /// <paramref name="cluster"/> adds the cluster member's Akka settings (cluster.conf).
    /// </summary>
    public static (OrchestratorSettings, Config) LoadConfig(string? file, IEnumerable<string> overrides, bool cluster = false)
    {
        var layered = ConfigLoader.Layer(cluster ? Defaults.WithFallback(ClusterDefaults) : Defaults, overrides, file is null ? [] : [file]);
        return (OrchestratorSettings.From(layered), layered.Config);
    }

    /// <summary>
    /// A process on its own: the journal, and this machine's slots once a sweep needs them. <paramref name="readOnly"/>
    /// (status, runs, report) opens a SQLite journal read-only and creates no table.
    /// </summary>
    public static OrchestratorHost Start(OrchestratorSettings settings, Config config, string workdir, bool readOnly = false)
    {
        workdir = Path.GetFullPath(workdir);
        var system = ActorSystem.Create(ClusterSettings.SystemName, SystemConfig(settings, config, workdir, readOnly));
        return new OrchestratorHost(system, settings, workdir, readOnly);
    }

    /// <summary>
    /// A cluster member with orchestrator.cluster.roles: a trainer offers its slots (/user/slots) to the
    /// placement; a coordinator can host the sweep manager singleton. Every member runs the singleton's proxy
    /// (/user/sweeps) and registers it with the cluster-client receptionist, so clients can reach any node.
    /// </summary>
    public static OrchestratorHost StartNode(OrchestratorSettings settings, Config config, string workdir)
    {
        workdir = Path.GetFullPath(workdir);
        var c = settings.Cluster;
        var member = ConfigurationFactory.ParseString($$"""
            akka.cluster.seed-nodes = [{{string.Join(", ", c.Seeds.Select(x => Quote(c.Address(x))))}}]
            akka.cluster.roles = [{{string.Join(", ", c.Roles.Select(Quote))}}]
            """);
        var system = ActorSystem.Create(ClusterSettings.SystemName, Setup(settings,
            member.WithFallback(Remoting(c, c.Port)).WithFallback(SystemConfig(settings, config, workdir)).WithFallback(ToolsConfig)));
        var host = new OrchestratorHost(system, settings, workdir);
        if (c.Roles.Contains(Roles.Trainer))
        {
            var slots = host.CreateSlots(c.Node);
            // Leaving: every run finishes its step, checkpoints and commits; the placement then loses the slots and
            // the coordinator places the runs elsewhere from those checkpoints.
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceStop, "drain-slots", async () =>
            {
                await slots.Ask<RunsStopped>(DrainNode.Instance, Timeout.InfiniteTimeSpan);
                return Akka.Done.Instance;
            });
        }
        if (c.Roles.Contains(Roles.Coordinator))
            system.ActorOf(ClusterSingletonManager.Props(SweepManager.Supervised(settings.SnapshotEvery, settings.AskTimeout, c.Node, c.Retry), HandOver.Instance,
                ClusterSingletonManagerSettings.Create(system).WithRole(Roles.Coordinator)), "sweep-manager");
        var proxy = system.ActorOf(ClusterSingletonProxy.Props("/user/sweep-manager",
            ClusterSingletonProxySettings.Create(system).WithRole(Roles.Coordinator)), SweepsPath.Split('/')[^1]);
        ClusterClientReceptionist.Get(system).RegisterService(proxy);
        return host;
    }

    /// <summary>A client outside the cluster (`sweep run --cluster`): remoting only, talking to <paramref name="contacts"/> ("host:port").</summary>
    public static (ActorSystem System, IActorRef Client) Connect(OrchestratorSettings settings, Config config, IReadOnlyList<string> contacts)
    {
        var c = settings.Cluster;
        var system = ActorSystem.Create(ClusterSettings.SystemName, Setup(settings,
            ConfigurationFactory.ParseString("akka.actor.provider = remote").WithFallback(Remoting(c, 0)).WithFallback(config)
                .WithFallback(ToolsConfig)));
        var initial = contacts.Select(x => ActorPath.Parse($"{c.Address(x)}/system/receptionist")).ToImmutableHashSet();
        return (system, system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system).WithInitialContacts(initial)), "client"));
    }

    // Akka.Cluster.Tools' serializers must be known before the first message from another node arrives.
    static readonly Config ToolsConfig = ClusterClientReceptionist.DefaultConfig().WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig())
        .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());

    static Config Remoting(ClusterSettings c, int port) => ConfigurationFactory.ParseString($$"""
        akka.remote.dot-netty.tcp {
          hostname = {{Quote(c.Hostname)}}
          port = {{port}}
          {{(c.PublicHostname.Length > 0 ? $"public-hostname = {Quote(c.PublicHostname)}" : "")}}
          enable-ssl = {{(c.Tls.Enabled ? "on" : "off")}}
        }
        """);

    // TLS: the shared certificate, mutual authentication, and peers pinned to trusted thumbprints (a self-signed
    // certificate has no chain to validate, so the pin is what keeps strangers out).
    static ActorSystemSetup Setup(OrchestratorSettings settings, Config config)
    {
        var setup = BootstrapSetup.Create().WithConfig(config);
        var tls = settings.Cluster.Tls;
        if (!tls.Enabled) return ActorSystemSetup.Create(setup);
        var certificate = X509CertificateLoader.LoadPkcs12FromFile(tls.Certificate, tls.Password, X509KeyStorageFlags.Exportable);
        var trusted = tls.TrustedThumbprints.Append(certificate.Thumbprint).ToArray();
        return ActorSystemSetup.Create(setup, new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
            CertificateValidation.PinnedCertificate(trusted)));
    }

    /// <summary>The ActorSystem's configuration: <paramref name="config"/> with the journal's connection filled in.</summary>
    public static Config SystemConfig(OrchestratorSettings settings, Config config, string workdir, bool readOnly = false)
    {
        if (!readOnly) Directory.CreateDirectory(workdir);
        var (connection, provider) = Journal(settings, workdir, readOnly);
        var journal = ConfigurationFactory.ParseString(string.Join("\n",
            from section in new[] { "akka.persistence.journal.sql", "akka.persistence.query.journal.sql", "akka.persistence.snapshot-store.sql" }
            select $"{section} {{ connection-string = {Quote(connection)}, provider-name = {Quote(provider)}"
                   + (readOnly && section != "akka.persistence.query.journal.sql" ? ", auto-initialize = off }" : " }")));
        return journal.WithFallback(config);
    }

    /// <summary>Why the journal cannot be opened (a damaged file, a refused login, no server), or null.</summary>
    public static string? JournalProblem(OrchestratorSettings settings, string workdir, bool readOnly)
    {
        var where = JournalName(settings, workdir);
        try { return JournalAccess.Problem(settings.Journal.Provider, Journal(settings, workdir, readOnly).Connection, where); }
        catch (Exception e) when (JournalAccess.Describe(e) is { } cause) { return JournalAccess.Unreadable(where, cause); }
    }

    /// <summary>The journal as messages name it: the SQLite file, or the PostgreSQL server and database (never the password).</summary>
    public static string JournalName(OrchestratorSettings settings, string workdir) => settings.Journal.Provider == JournalProvider.Sqlite
        ? Path.GetFullPath(Path.Combine(workdir, settings.Journal.SqliteFile))
        : "at PostgreSQL " + PostgresServer(settings.Journal.PostgreSql);

    static (string Connection, string Provider) Journal(OrchestratorSettings settings, string workdir, bool readOnly) => settings.Journal.Provider switch
    {
        JournalProvider.Sqlite => (JournalAccess.Sqlite(Path.Combine(workdir, settings.Journal.SqliteFile), readOnly), "SQLite.MS"),
        _ => (settings.Journal.PostgreSql, "PostgreSQL.15"),
    };

    // Host, port and database of a connection string, never its password.
    static string PostgresServer(string connection)
    {
        try
        {
            var b = new Npgsql.NpgsqlConnectionStringBuilder(connection);
            return $"{b.Host}:{b.Port}/{b.Database}";
        }
        catch (ArgumentException) { return "connection string not understood"; }
    }

    /// <summary>The coordinator of one sweep (created on first use), recovering from the journal.</summary>
    public IActorRef Coordinator(SweepId id) =>
        System.ActorOf(SweepCoordinator.Props(id, new CoordinatorContext(placement.Value, Settings.SnapshotEvery)), "sweep-" + id);

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

    static string Quote(string s) => global::System.Text.Json.JsonSerializer.Serialize(s);

    static string ReadResource(string name)
    {
        using var s = typeof(OrchestratorHost).Assembly.GetManifestResourceStream("WeSaR.Actors." + name)!;
        return new StreamReader(s).ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        metrics?.Dispose();
        SqliteConnection.ClearAllPools();
    }
}
